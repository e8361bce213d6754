import { ProblemSchema } from '../../functions/schemas/responses';
import type { WireResponse } from './client';

/**
 * What is wrong with an error answer that should be an RFC 9457 problem (the JSON API, the
 * `$default` route, the gateway's own 400 for a path it cannot decode): the media type, the
 * members, the status inside matching the status outside, and the headers its status promises.
 */
export const problemFaults = (response: WireResponse): string[] => {
  const faults: string[] = [];
  const type = response.headers['content-type'] ?? '';
  if (type !== 'application/problem+json')
    faults.push(`content-type is "${type}", not application/problem+json`);
  const parsed = ProblemSchema.safeParse(response.json);
  if (!parsed.success) {
    faults.push(`the body is not a problem document: ${response.text.slice(0, 200)}`);
    return faults;
  }
  if (parsed.data.status !== response.status)
    faults.push(`the problem says status ${parsed.data.status}, the answer is ${response.status}`);
  if (parsed.data.title.trim() === '') faults.push('the problem has an empty title');
  if (parsed.data.detail.trim() === '') faults.push('the problem has an empty detail');
  if (response.status === 401 && !/^Bearer\b/i.test(response.headers['www-authenticate'] ?? ''))
    faults.push('a 401 without WWW-Authenticate: Bearer');
  if (response.status === 405 && !response.headers.allow) faults.push('a 405 without Allow');
  return faults;
};

/** API Gateway's own answers (README, "Error shapes"): `{"message"}` as application/json. */
export const gatewayMessageFaults = (response: WireResponse): string[] => {
  const message = (response.json as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' &&
    (response.headers['content-type'] ?? '').startsWith('application/json')
    ? []
    : [`not API Gateway's {"message"} shape: ${response.text.slice(0, 200)}`];
};
