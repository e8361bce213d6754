/** A raw HTTP exchange with the gateway, for tests that look at statuses, headers and bodies. */
export interface RawResponse {
  status: number;
  headers: Headers;
  contentType: string;
  body: unknown;
  text: string;
}

export const raw = async (
  baseUrl: string,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: string | Uint8Array;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<RawResponse> => {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.contentType ? { 'content-type': options.contentType } : {}),
      ...options.headers,
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return {
    status: response.status,
    headers: response.headers,
    contentType: response.headers.get('content-type') ?? '',
    body,
    text,
  };
};

export const json = (value: unknown) => ({ body: JSON.stringify(value), contentType: 'application/json' });
