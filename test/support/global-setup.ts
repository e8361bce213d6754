import type { TestProject } from 'vitest/node';
import { type EmulatorEndpoints, startEmulators } from '../../local/emulators';

declare module 'vitest' {
  export interface ProvidedContext {
    emulators: EmulatorEndpoints;
  }
}

/**
 * One DynamoDB Local and one fauxqs for the whole run: test files share them and
 * keep apart by giving their tables and queues a prefix of their own. The teardown stops both,
 * and the exit hooks kill the Java child if the run ends any other way.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const emulators = await startEmulators();
  project.provide('emulators', {
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    sqsEndpoint: emulators.sqsEndpoint,
  });
  return () => emulators.stop();
}
