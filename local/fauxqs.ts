import type { AddressInfo } from 'node:net';
import { buildApp } from 'fauxqs';
import { registerExitHook } from './exit-hooks';

export interface Fauxqs {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts the fauxqs SQS emulator inside this process, on loopback and a port the kernel picks.
 * Its queue URLs name a host that does not resolve (`sqs.<region>.localhost:<port>`), so SQS
 * clients must be given `endpoint` explicitly and told not to use the queue URL as endpoint
 * (aws/clients.ts `makeSqsClient({ sqsEndpoint })` does both).
 */
export const startFauxqs = async (): Promise<Fauxqs> => {
  const app = buildApp({ logger: false, defaultRegion: 'us-east-1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  // Open long polls would otherwise hold the event loop (and a signal-driven exit) open.
  const close = async (): Promise<void> => {
    await app.close();
  };
  const unregister = registerExitHook({ stop: close });
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () => {
      stopping ??= close().finally(unregister);
      return stopping;
    },
  };
};
