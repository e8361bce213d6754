/**
 * Typed domain errors. Core and functions throw these; the HTTP edge maps them to RFC 9457
 * problem+json in one place (`problemResponse` in functions/lib/http.ts), so every route
 * reports alike.
 */
export class SyncHubError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    detail: string,
    /** Extra members of the problem document (RFC 9457 extensions). */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = new.target.name;
  }
}

export class ValidationError extends SyncHubError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(400, 'Bad Request', detail, extensions);
  }
}
export class UnauthorizedError extends SyncHubError {
  constructor(detail = 'A valid bearer token is required') {
    super(401, 'Unauthorized', detail);
  }
}
export class ForbiddenError extends SyncHubError {
  constructor(detail: string) {
    super(403, 'Forbidden', detail);
  }
}
export class NotFoundError extends SyncHubError {
  constructor(detail: string) {
    super(404, 'Not Found', detail);
  }
}
export class MethodNotAllowedError extends SyncHubError {
  constructor(detail: string) {
    super(405, 'Method Not Allowed', detail);
  }
}
export class ConflictError extends SyncHubError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(409, 'Conflict', detail, extensions);
  }
}
export class PayloadTooLargeError extends SyncHubError {
  constructor(detail: string) {
    super(413, 'Content Too Large', detail);
  }
}
export class UnsupportedMediaTypeError extends SyncHubError {
  constructor(detail: string) {
    super(415, 'Unsupported Media Type', detail);
  }
}
export class UnprocessableError extends SyncHubError {
  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(422, 'Unprocessable Content', detail, extensions);
  }
}
