import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The real SyncML client of the tests: Debian's SyncEvolution (`syncevolution`, CLI, file
 * backend for contacts and events), configured headless under a temporary HOME of its own.
 * Debian's 2.0.0 build passes NULL curl callbacks and crashes on every HTTP sync; the LD_PRELOAD
 * shim beside this file (curl-callback-fix.c) supplies them, built here from source with the
 * system C compiler into the temporary directory (never committed).
 */

const SHIM_SOURCE = join(import.meta.dirname, 'curl-callback-fix.c');
const SYNCEVOLUTION = '/usr/bin/syncevolution';
/** A run is bounded by SyncEvolution itself (RetryDuration) and, as a last resort, here. */
const RUN_TIMEOUT_MS = 150_000;

export const DATASTORES = ['contacts', 'events'] as const;
export type Datastore = (typeof DATASTORES)[number];

export interface Counts {
  new: number;
  mod: number;
  del: number;
  err: number;
}
export interface SyncReport {
  exitCode: number;
  output: string;
  /** Per datastore: what changed locally (on the client) and remotely (on SyncHub), and the mode. */
  sources: Partial<Record<Datastore, { local: Counts; remote: Counts; mode: string }>>;
}

const requireTools = () => {
  const missing = [SYNCEVOLUTION, '/usr/bin/cc'].filter((path) => !existsSync(path));
  if (missing.length > 0) {
    throw new Error(
      `the SyncML tests run the real SyncEvolution client: missing ${missing.join(', ')} ` +
        '(Debian: apt-get install syncevolution gcc; .ci/run does it)',
    );
  }
};

/** Parses SyncEvolution's closing table (`|  contacts |  0  |  1  | … |` and the mode line below it). */
export const parseReport = (output: string): SyncReport['sources'] => {
  const sources: SyncReport['sources'] = {};
  const lines = output.split('\n');
  for (const [index, line] of lines.entries()) {
    const match = /^\|\s+(contacts|events) \|((?:\s+\d+\s+\|){9})/.exec(line);
    if (!match) continue;
    const n = match[2]!
      .split('|')
      .map((cell) => Number(cell.trim()))
      .slice(0, -1);
    const counts = (offset: number): Counts => ({
      new: n[offset]!,
      mod: n[offset + 1]!,
      del: n[offset + 2]!,
      err: n[offset + 3]!,
    });
    const mode = /^\|\s+([a-z-]+),/.exec(lines[index + 1] ?? '')?.[1] ?? '';
    sources[match[1] as Datastore] = { local: counts(0), remote: counts(4), mode };
  }
  return sources;
};

export class SyncEvolutionClient {
  private constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A configured client for one SyncHub device (its id and token are the SyncML credentials). */
  static async create(options: {
    baseUrl: string;
    deviceId: string;
    token: string;
    /** The largest message the client takes (SyncEvolution's default: 150000; at least 10240). */
    maxMsgSize?: number;
  }): Promise<SyncEvolutionClient> {
    requireTools();
    const dir = await mkdtemp(join(tmpdir(), 'synchub-syncevolution-'));
    try {
      const shim = join(dir, 'curl-callback-fix.so');
      await promisify(execFile)('cc', ['-shared', '-fPIC', '-O2', '-nostdlib', '-o', shim, SHIM_SOURCE]);
      const home = join(dir, 'home');
      for (const sub of ['home', ...DATASTORES]) await mkdir(join(dir, sub), { recursive: true });
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: home,
        LANG: 'C',
        LC_ALL: 'C',
        XDG_CONFIG_HOME: join(home, '.config'),
        XDG_CACHE_HOME: join(home, '.cache'),
        LD_PRELOAD: shim,
      };
      const client = new SyncEvolutionClient(dir, env);
      const configure = async (...args: string[]) => {
        const { exitCode, output } = await client.run(['--configure', ...args]);
        if (exitCode !== 0) throw new Error(`syncevolution --configure failed: ${output}`);
      };
      await configure(
        '--template',
        'none',
        `syncURL=${options.baseUrl}/v1/syncml`,
        `username=${options.deviceId}`,
        `password=${options.token}`,
        'keyring=no',
        'enableWBXML=0',
        'clientAuthType=basic',
        'preventSlowSync=0',
        'printChanges=0',
        'dumpData=0',
        'maxlogdirs=3',
        // Bounded runs; no resends (a resend would hide a lost reply instead of failing).
        'RetryDuration=90',
        'RetryInterval=0',
        ...(options.maxMsgSize ? [`maxMsgSize=${options.maxMsgSize}`] : []),
        'synchub',
      );
      for (const [store, format] of [
        ['contacts', 'text/vcard'],
        ['events', 'text/calendar'],
      ] as const) {
        await configure(
          'backend=file',
          `database=file://${join(dir, store)}`,
          `databaseFormat=${format}`,
          `uri=${store}`,
          'sync=two-way',
          'synchub',
          store,
        );
      }
      return client;
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs syncevolution to its end (killed if it outlives the bound), capturing its output. */
  private run(args: string[]): Promise<{ exitCode: number; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(SYNCEVOLUTION, args, {
        env: this.env,
        cwd: this.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ exitCode: code ?? (signal ? 128 : 1), output });
      });
    });
  }

  /** One sync session; `slow` forces a slow sync, `password` overrides the configured one for this run. */
  async sync(options: { slow?: boolean; password?: string } = {}): Promise<SyncReport> {
    const args = ['--daemon=no'];
    if (options.password !== undefined) args.push('--run', `password=${options.password}`);
    if (options.slow) args.push('--sync', 'slow');
    args.push('synchub');
    const { exitCode, output } = await this.run(args);
    return { exitCode, output, sources: parseReport(output) };
  }

  /** The client's items of a datastore: file name (its LUID) → content. */
  async items(store: Datastore): Promise<Record<string, string>> {
    const names = (await readdir(join(this.dir, store))).sort();
    const entries = await Promise.all(
      names.map(async (name) => [name, await readFile(join(this.dir, store, name), 'utf8')] as const),
    );
    return Object.fromEntries(entries);
  }

  /** The item of a datastore whose content matches, with its LUID. */
  async find(store: Datastore, pattern: RegExp): Promise<{ luid: string; text: string } | undefined> {
    const found = Object.entries(await this.items(store)).find(([, text]) => pattern.test(text));
    return found ? { luid: found[0], text: found[1] } : undefined;
  }

  async write(store: Datastore, luid: string, text: string): Promise<void> {
    await writeFile(join(this.dir, store, luid), text);
  }

  async remove(store: Datastore, luid: string): Promise<void> {
    await unlink(join(this.dir, store, luid));
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
