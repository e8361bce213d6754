import { Agent, request } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** The body as sent, then decoded by its Content-Encoding (a DAV multistatus comes gzipped). */
const decoded = (body: Buffer, encoding: string | undefined): Buffer => {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case 'gzip':
      return gunzipSync(body);
    case 'deflate':
      return inflateSync(body);
    case 'br':
      return brotliDecompressSync(body);
    default:
      return body;
  }
};

/**
 * The fuzz suite's HTTP client: node:http rather than fetch, because a hostile request must reach
 * the gateway as written — repeated headers as separate lines, `..` and `//` segments and raw
 * percent-encoding left alone (fetch and URL normalise them), any method name, any body bytes.
 */
export interface WireRequest {
  readonly method: string;
  /** Path and query exactly as sent (already percent-encoded where it must be). */
  readonly target: string;
  /** A header given a list is sent as several header lines. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Buffer;
}

export interface WireResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly text: string;
  /** The body parsed as JSON, when it is JSON. */
  readonly json: unknown;
}

/**
 * A request that got no answer at all. API Gateway answers a function that never returns with a
 * 504 of its own, so the suite counts this as a 5xx. The bound only catches a hang: no answer
 * SyncHub gives legitimately takes more than its longest long poll (20 s).
 */
export const NO_ANSWER_MS = 90_000;

export class FuzzClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
  private readonly url: URL;

  constructor(baseUrl: string) {
    this.url = new URL(baseUrl);
  }

  async send(wire: WireRequest): Promise<WireResponse> {
    try {
      return await this.attempt(wire);
    } catch (error) {
      // A keep-alive socket the server closed as idle just as this request went out on it: the
      // request never reached the server, and Node's documentation says to send it again.
      if ((error as { reusedSocket?: boolean }).reusedSocket) return this.attempt(wire);
      throw error;
    }
  }

  private attempt(wire: WireRequest): Promise<WireResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method: wire.method,
          path: wire.target,
          // Node frames a GET or DELETE body with nothing unless told its length.
          headers: {
            ...(wire.headers as Record<string, string | string[]>),
            ...(wire.body !== undefined ? { 'content-length': String(wire.body.length) } : {}),
          },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            let body: Buffer = Buffer.concat(chunks);
            try {
              body = decoded(body, incoming.headers['content-encoding']);
            } catch (error) {
              reject(
                new Error(
                  `the body is not valid ${incoming.headers['content-encoding']}: ${(error as Error).message}`,
                ),
              );
              return;
            }
            const text = body.toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            const headers: Record<string, string> = {};
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
            }
            resolve({ status: incoming.statusCode ?? 0, headers, body, text, json });
          });
        },
      );
      outgoing.setTimeout(NO_ANSWER_MS, () =>
        outgoing.destroy(new Error(`no answer within ${NO_ANSWER_MS / 1000} s (API Gateway: 504)`)),
      );
      outgoing.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          Object.assign(error, {
            reusedSocket:
              outgoing.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up'),
          }),
        ),
      );
      outgoing.end(wire.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
