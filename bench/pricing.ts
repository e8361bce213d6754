/**
 * AWS list prices the benchmark turns request counts into money with. Region us-east-1 (N.
 * Virginia), on-demand, no free tier, as published by AWS and last checked by the benchmark's
 * author on 2025-06-01 (no network here to re-check: compare with the AWS pricing pages before
 * quoting a figure). Prices change; the request counts the benchmark measures do not.
 */
export const PRICES = {
  region: 'us-east-1',
  checked: '2025-06-01',
  /** DynamoDB on-demand (since the 2024-11-01 price cut). Streams reads by Lambda triggers are free. */
  dynamodbPerMillionWriteUnits: 0.625,
  dynamodbPerMillionReadUnits: 0.125,
  /** SQS: per million requests; every 64 KiB of payload counts as one request. */
  sqsFifoPerMillionRequests: 0.5,
  sqsStandardPerMillionRequests: 0.4,
  /** Lambda requests (duration is priced separately, see lambdaArmPerGbSecond). */
  lambdaPerMillionRequests: 0.2,
  lambdaArmPerGbSecond: 0.0000133334,
  /** API Gateway HTTP API, first 300 million requests a month; every 512 KB counts as one. */
  httpApiPerMillionRequests: 1.0,
} as const;

export interface Usage {
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  sqsFifoRequests: number;
  sqsStandardRequests: number;
  lambdaInvocations: number;
  httpApiRequests: number;
}

/** Dollars for a usage, per service. */
export const costOf = (usage: Usage) => {
  const dynamodb =
    (usage.dynamodbReadUnits * PRICES.dynamodbPerMillionReadUnits +
      usage.dynamodbWriteUnits * PRICES.dynamodbPerMillionWriteUnits) /
    1e6;
  const sqs =
    (usage.sqsFifoRequests * PRICES.sqsFifoPerMillionRequests +
      usage.sqsStandardRequests * PRICES.sqsStandardPerMillionRequests) /
    1e6;
  const lambda = (usage.lambdaInvocations * PRICES.lambdaPerMillionRequests) / 1e6;
  const apiGateway = (usage.httpApiRequests * PRICES.httpApiPerMillionRequests) / 1e6;
  return { dynamodb, sqs, lambda, apiGateway, total: dynamodb + sqs + lambda + apiGateway };
};
