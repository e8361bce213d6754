/**
 * The HTTP API's schemas: requests (validated at the edge), responses (the handlers' return
 * types), what a device receives (messages), and the contract tying them to the routes.
 */
export * from './contract';
export * from './messages';
export * from './requests';
export * from './responses';
