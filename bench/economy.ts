/**
 * Figure 2: AWS request economy. Turns the meter's counts for one run into requests per
 * delivered change, per service and operation, and into dollars per million deliveries at the
 * list prices of pricing.ts.
 */
import type { CallCount } from './meter';
import { costOf, type Usage } from './pricing';
import type { HttpCounts } from './synchub';

export interface Economy {
  deliveries: number;
  /** Handler calls (what the code under test decides), per delivered change. */
  handlerRequestsPerDelivery: number;
  /** Also counting the event source mappings' non-empty receives and deletes (billed on AWS too). */
  allRequestsPerDelivery: number;
  /** Handler calls per delivery by "Service Operation target". */
  perOperation: Record<string, number>;
  /** The same by the function that made the call (bench/meter.ts `callerOf`): `router`, `adapter`… */
  byFunction: Record<string, Record<string, number>>;
  /** Device API requests (polls + acks) per delivery, and objects API writes per delivery. */
  httpPerDelivery: number;
  usage: Usage;
  costPerMillionDeliveries: ReturnType<typeof costOf>;
}

export const economyOf = (
  counts: readonly CallCount[],
  http: HttpCounts,
  streamBatches: number,
  deliveries: number,
): Economy => {
  const perOperation: Record<string, number> = {};
  const byFunction: Record<string, Record<string, number>> = {};
  let handler = 0;
  let eventSource = 0;
  const usage: Usage = {
    dynamodbReadUnits: 0,
    dynamodbWriteUnits: 0,
    sqsFifoRequests: 0,
    sqsStandardRequests: 0,
    lambdaInvocations: 0,
    httpApiRequests: 0,
  };
  for (const count of counts) {
    usage.dynamodbReadUnits += count.readUnits;
    usage.dynamodbWriteUnits += count.writeUnits;
    if (count.eventSource) {
      // Empty receives depend on idle time and on the local pollers' 1 s long poll, not on load.
      const billed = count.billedRequests - count.empty;
      eventSource += count.calls - count.empty;
      if (count.operation === 'ReceiveMessage') usage.lambdaInvocations += count.calls - count.empty;
      if (count.fifo) usage.sqsFifoRequests += billed;
      else usage.sqsStandardRequests += billed;
      continue;
    }
    handler += count.calls;
    const key = `${count.service} ${count.operation} ${count.target}`;
    perOperation[key] = (perOperation[key] ?? 0) + count.calls / deliveries;
    const own = byFunction[count.caller] ?? {};
    byFunction[count.caller] = own;
    own[key] = (own[key] ?? 0) + count.calls / deliveries;
    if (count.service === 'SQS') {
      if (count.fifo) usage.sqsFifoRequests += count.billedRequests;
      else usage.sqsStandardRequests += count.billedRequests;
    }
  }
  const httpRequests = http.puts + http.polls + http.acks + http.snapshots;
  // Every API request invokes its function once: the function authenticates the caller itself
  // (its token lookup is among the handler's requests above), there is no authorizer.
  usage.httpApiRequests = httpRequests;
  usage.lambdaInvocations += httpRequests + streamBatches;
  const cost = costOf(usage);
  const scale = 1e6 / deliveries;
  return {
    deliveries,
    handlerRequestsPerDelivery: handler / deliveries,
    allRequestsPerDelivery: (handler + eventSource) / deliveries,
    perOperation,
    byFunction,
    httpPerDelivery: (http.polls + http.acks) / deliveries,
    usage,
    costPerMillionDeliveries: {
      dynamodb: cost.dynamodb * scale,
      sqs: cost.sqs * scale,
      lambda: cost.lambda * scale,
      apiGateway: cost.apiGateway * scale,
      total: cost.total * scale,
    },
  };
};
