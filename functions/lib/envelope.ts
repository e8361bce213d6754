import * as z from 'zod';

/**
 * What the router tells an adapter: "device D of user U has log entries up to `upTo` to receive".
 * The adapter reads the entries themselves from the change log, from the device's cursor on,
 * so envelopes may arrive late, twice or out of order without a change being lost or repeated.
 */
export const EnvelopeSchema = z.strictObject({
  userId: z.string().min(1),
  deviceId: z.string().min(1),
  upTo: z.number().int().positive(),
});

export type Envelope = z.infer<typeof EnvelopeSchema>;
