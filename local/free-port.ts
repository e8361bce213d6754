import { createServer } from 'node:net';

/**
 * A TCP port free on the loopback interface right now: bind port 0, read what the kernel
 * chose, release it. Another process could take it before the caller binds it; for a child
 * process that cannot be told to bind port 0 itself (DynamoDB Local) this is the best there is.
 */
export const findFreePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port the kernel assigned'));
        return;
      }
      server.close((error) => (error ? reject(error) : resolve(address.port)));
    });
  });
