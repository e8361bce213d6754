/** An RFC 9457 problem document, as every SyncHub error response is shaped. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export const problem = (
  status: number,
  title: string,
  detail: string,
  headers?: Record<string, string>,
): Problem => ({
  status,
  title,
  detail,
  ...(headers ? { headers } : {}),
});

export const problemBody = ({ status, title, detail }: Problem): string =>
  JSON.stringify({ type: 'about:blank', title, status, detail });
