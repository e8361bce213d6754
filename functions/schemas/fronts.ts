import type { ProtocolFront } from '../../lib/definition';

/**
 * The routes of the protocol fronts (`front` in lib/definition.ts): what the JSON API contract
 * (contract.ts) is for the JSON routes, in the terms a protocol of its own allows. A front's
 * bodies are its protocol's (SyncML XML), described by its document under docs/, not by
 * schemas. The OpenAPI document (scripts/openapi.ts) is built from this, and every e2e response
 * of a front route passes `frontFaults` (test/support/contract.ts).
 */

export interface FrontDescription {
  /** The protocol's own document: what every method, path and status means. */
  readonly docs: string;
  /** The media types its requests and successful responses carry. */
  readonly mediaTypes?: readonly string[];
  /** How the front answers errors: the media types of its error bodies. */
  readonly errorMediaTypes: readonly string[];
  /** What an error body is, in the front's words. */
  readonly errorShape: string;
  /** The credential scheme its authenticated routes take, as OpenAPI names it (`securitySchemes`). */
  readonly credential?: 'syncmlSession';
  /**
   * HTTP statuses of failed authentication (401, 503), by status; none for a protocol that
   * answers them inside an HTTP 200 (SyncML).
   */
  readonly authErrors: { readonly [status: number]: string };
}

export const FRONTS: Readonly<Record<ProtocolFront, FrontDescription>> = {
  syncml: {
    docs: 'docs/syncml.md',
    mediaTypes: ['application/vnd.syncml+xml'],
    errorMediaTypes: ['application/problem+json'],
    errorShape:
      'a body that is not a SyncML message gets an RFC 9457 problem; everything a SyncML client can be ' +
      'told — bad or missing credentials (Status 401 / 407 with a basic Chal), an unknown or idle session ' +
      '(404), a busy store (503), refused commands and items — is a SyncML Status inside an HTTP 200',
    credential: 'syncmlSession',
    authErrors: {},
  },
};

export interface FrontOperation {
  readonly front: ProtocolFront;
  readonly summary: string;
  /** Every method the route serves (an `ANY` route takes them all and answers the rest 405). */
  readonly methods: readonly string[];
  /** Successful responses by status. */
  readonly responses: { readonly [status: number]: string };
  /** Errors by status, besides the front's `authErrors`. */
  readonly errors: { readonly [status: number]: string };
}

/** Every front route of the definition, by route key; a route missing here fails the unit test. */
export const FRONT_OPERATIONS: Readonly<Record<string, FrontOperation>> = {
  'POST /v1/syncml': {
    front: 'syncml',
    summary:
      'A SyncML 1.2 session message (OMA DS over HTTP, XML): the first message authenticates in its SyncHdr ' +
      '(`syncml:auth-basic` Cred, b64 of deviceId:deviceToken) and is answered with a RespURI carrying the ' +
      'session key (`?s=`) every later message goes to. A resent message gets the reply it got',
    methods: ['POST'],
    responses: {
      200: "the server's SyncML message (application/vnd.syncml+xml); failures are SyncML statuses in it",
    },
    errors: {
      400: 'not safe XML, not a SyncML message, or a SyncHdr that cannot be answered',
      413: 'the body exceeds 900,000 bytes',
      415: 'not application/vnd.syncml+xml (WBXML, a compressed body)',
    },
  },
};
