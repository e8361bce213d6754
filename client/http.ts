/** An RFC 9457 problem returned by SyncHub, raised as an error by the clients. */
export class SyncHubHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; [key: string]: unknown },
  ) {
    super(`${status} ${problem.title ?? ''}: ${problem.detail ?? ''}`.trim());
    this.name = 'SyncHubHttpError';
  }
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  rawBody?: string;
  contentType?: string;
  query?: Record<string, string | number | undefined>;
}

/** A small fetch wrapper: bearer token, JSON in and out, problem+json turned into errors. */
export const request = async <T>(
  baseUrl: string,
  token: string | undefined,
  path: string,
  options: RequestOptions = {},
): Promise<T> => {
  const url = new URL(path, baseUrl);
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value));
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(url, {
    method: options.method ?? 'GET',
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json' } : {}),
    },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : undefined;
  if (!response.ok)
    throw new SyncHubHttpError(response.status, (parsed as SyncHubHttpError['problem']) ?? {});
  return parsed as T;
};
