/**
 * SyncHub's custom metrics (Powertools Metrics → EMF, default dimension set `{ service }`),
 * named once: the functions emit them (functions/lib/observability.ts) and the dashboard and
 * alarms read them (lib/monitoring.ts, through `DEPLOYMENT.metrics` in lib/definition.ts).
 * Plain data: no CDK, no AWS SDK.
 */
export const METRICS = {
  namespace: 'SyncHub',
  service: 'synchub',
  /** Counts along the sync path. */
  flow: [
    'ChangesCaptured',
    'MessagesRouted',
    'MessagesDelivered',
    'MessagesAcknowledged',
    'SyncmlSessionsCompleted',
  ],
  /** Counts of things that went wrong (for a device or an adapter). */
  problems: [
    'PushConflicts',
    'PushesRejected',
    'AdapterErrors',
    'TransactionsCancelled',
    'TransactionsRolledBack',
  ],
  /** Milliseconds from the object write to the message landing in the device inbox. */
  latency: 'DeliveryLatency',
} as const;

export type MetricName =
  | (typeof METRICS.flow)[number]
  | (typeof METRICS.problems)[number]
  | typeof METRICS.latency;

/** Every metric by its own name, for `metrics.addMetric(MetricName.ChangesCaptured, …)`. */
export const MetricName = Object.fromEntries(
  [...METRICS.flow, ...METRICS.problems, METRICS.latency].map((name) => [name, name]),
) as { readonly [N in MetricName]: N };
