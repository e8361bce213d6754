/**
 * The HTTP API's schemas. What a handler needs at run time is the request schemas (validated at
 * the edge); the response schemas, what a device receives (messages) and the contract tying them
 * to the routes are exported here as types only, so a function's bundle does not build schemas
 * it never runs. The OpenAPI generator and the tests import those modules themselves.
 */

export type * from './contract';
export type * from './messages';
export * from './requests';
export type * from './responses';
