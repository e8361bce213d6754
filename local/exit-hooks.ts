/**
 * Cleanup that must run however the process ends. DynamoDB Local is a Java child process that
 * outlives Node unless it is killed explicitly, and Node's default reaction to SIGINT/SIGTERM
 * skips the 'exit' event entirely, so every owner of an external resource registers here.
 *
 * - `release` (synchronous) runs on the 'exit' event, which Node also emits after an uncaught
 *   exception or unhandled rejection, and after `process.exit()`: the last chance to signal a
 *   child. Only synchronous work survives there.
 * - `stop` (asynchronous) runs first on SIGINT/SIGTERM/SIGHUP, newest hook first (a runtime
 *   stops before the emulators it runs on), bounded by a deadline; then the process exits
 *   with the conventional 128 + signal number.
 *
 * Signal listeners are installed only while at least one hook is registered, so a process
 * that has released everything reacts to signals exactly as it would without this module.
 */

export interface ExitHook {
  /** Graceful, asynchronous cleanup on a termination signal. */
  readonly stop?: () => Promise<void>;
  /** Last-resort synchronous cleanup on the 'exit' event. */
  readonly release?: () => void;
}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
type HandledSignal = keyof typeof SIGNAL_EXIT_CODES;

/** A signal-triggered shutdown gives up on graceful cleanup after this long. */
const SIGNAL_STOP_DEADLINE_MS = 10_000;

const hooks = new Set<ExitHook>();
let shuttingDown = false;

const runReleases = (): void => {
  for (const hook of [...hooks].reverse()) {
    try {
      hook.release?.();
    } catch (error) {
      process.stderr.write(`exit cleanup failed: ${String(error)}\n`);
    }
  }
};

const onSignal = (signal: HandledSignal): void => {
  if (shuttingDown) return;
  shuttingDown = true;
  const stops = [...hooks].reverse().map((hook) => hook.stop);
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, SIGNAL_STOP_DEADLINE_MS).unref());
  const stopAll = (async () => {
    for (const stop of stops) {
      try {
        await stop?.();
      } catch (error) {
        process.stderr.write(`cleanup after ${signal} failed: ${String(error)}\n`);
      }
    }
  })();
  void Promise.race([stopAll, deadline]).finally(() => process.exit(SIGNAL_EXIT_CODES[signal]));
};

const signalListeners = Object.fromEntries(
  Object.keys(SIGNAL_EXIT_CODES).map((signal) => [signal, () => onSignal(signal as HandledSignal)]),
) as Record<HandledSignal, () => void>;

const install = (): void => {
  process.on('exit', runReleases);
  for (const [signal, listener] of Object.entries(signalListeners)) process.on(signal, listener);
};

const uninstall = (): void => {
  process.off('exit', runReleases);
  for (const [signal, listener] of Object.entries(signalListeners)) process.off(signal, listener);
};

/** Registers cleanup for every exit path; the returned function unregisters it. */
export const registerExitHook = (hook: ExitHook): (() => void) => {
  if (hooks.size === 0) install();
  hooks.add(hook);
  return () => {
    if (!hooks.delete(hook)) return;
    if (hooks.size === 0 && !shuttingDown) uninstall();
  };
};
