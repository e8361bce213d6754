import * as z from 'zod';

/**
 * What the router tells an adapter: "the devices of user U on this platform have log entries up
 * to `upTo` to receive". One envelope per user and platform per routed batch (FIFO group = the
 * user): the adapter reads the user's devices and the log once and serves every device from its
 * own cursor, so envelopes may arrive late, twice or out of order without a change being lost
 * or repeated, and fewer envelopes lose nothing.
 *
 * `deviceId` narrows an envelope to one device: envelopes routed before the fan-out per user
 * (one per device) and work an adapter kept in its dead-letter queue for one device. Such work
 * carries `deadLetter` (why it was given up on); redriven to the adapter queue, it is an
 * envelope like any other: a device whose cursor is past it (it was told to resync instead)
 * ignores it, one still behind gets its delivery retried.
 */
export const EnvelopeSchema = z.strictObject({
  userId: z.string().min(1),
  upTo: z.number().int().positive(),
  /** The platform whose devices it is for (absent on per-device envelopes: the device's own). */
  platform: z.string().min(1).optional(),
  deviceId: z.string().min(1).optional(),
  deadLetter: z
    .strictObject({
      reason: z.string(),
      /** The device's log cursor when delivery was given up on: the entries after it up to `upTo`. */
      after: z.number().int().min(0),
      attempts: z.number().int().min(1),
      /** Whether the device was told to resync the objects instead (then its cursor moved on). */
      standIn: z.boolean(),
      at: z.string(),
    })
    .optional(),
});

export type Envelope = z.infer<typeof EnvelopeSchema>;

/**
 * Attempts at an envelope (SQS's receive count) before the adapter stops retrying a device that
 * keeps failing and stands in for its work (dead letter + resync). Below the adapter queues'
 * `maxReceiveCount` (lib/definition.ts), so the queue's own redrive remains the backstop for an
 * adapter that cannot even do that (its queue or the inbox unreachable).
 */
export const MAX_DELIVERY_ATTEMPTS = 3;
