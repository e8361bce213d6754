import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The real DAV clients the dav platform is proven with: vdirsyncer and python3-caldav, both from
 * Debian (.ci/run installs them). Each run is a child process with a hard timeout (killed on
 * expiry, so a test never leaves one behind), in the C.UTF-8 locale.
 */

const RUN_TIMEOUT_MS = 180_000;
/** Debian's python3: the python3 on PATH may be another one without the Debian modules. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
export const VDIRSYNCER = '/usr/bin/vdirsyncer';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (file: string, args: readonly string[], input?: string): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: RUN_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' },
      },
      (error, stdout, stderr) => {
        if (error && (error as { killed?: boolean }).killed) {
          reject(new Error(`${file} ${args.join(' ')} timed out\n${stderr}`));
          return;
        }
        const code = error ? Number((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: Number.isInteger(code) ? code : 1, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });

/** What a vdirsyncer sync moved, read from its INFO lines. */
export interface Moves {
  /** `Copying (uploading) item X to Y`: X newly written to Y. */
  uploaded: { item: string; to: string }[];
  /** `Copying (updating) item X to Y`. */
  updated: { item: string; to: string }[];
  /** `Deleting item X from Y`. */
  deleted: { item: string; from: string }[];
  conflicts: string[];
}

export const movesOf = (output: string): Moves => {
  const moves: Moves = { uploaded: [], updated: [], deleted: [], conflicts: [] };
  for (const line of output.split('\n')) {
    const copy = /Copying \((uploading|updating)\) item (.+) to (\S+)$/.exec(line.trim());
    if (copy)
      (copy[1] === 'uploading' ? moves.uploaded : moves.updated).push({ item: copy[2]!, to: copy[3]! });
    const removal = /Deleting item (.+) from (\S+)$/.exec(line.trim());
    if (removal) moves.deleted.push({ item: removal[1]!, from: removal[2]! });
    const conflict = /Doing conflict resolution for item (.+)\.\.\.$/.exec(line.trim());
    if (conflict) moves.conflicts.push(conflict[1]!);
  }
  return moves;
};

export interface VdirsyncerOptions {
  /** The server URL the user types in: the gateway's root (discovery via /.well-known) or the DAV root. */
  url: string;
  username: string;
  password: string;
  /** vdirsyncer's `conflict_resolution`; unset makes a conflict an error. */
  conflictResolution?: 'a wins' | 'b wins';
}

/** A vdirsyncer set-up in a scratch directory: one pair for contacts, one for calendars. */
export class Vdirsyncer {
  private constructor(readonly dir: string) {}

  static async create(options: VdirsyncerOptions): Promise<Vdirsyncer> {
    const dir = await mkdtemp(join(tmpdir(), 'synchub-vdirsyncer-'));
    const resolution = options.conflictResolution
      ? `conflict_resolution = "${options.conflictResolution}"\n`
      : '';
    const remote = (type: string) =>
      `type = "${type}"\nurl = "${options.url}"\nusername = "${options.username}"\npassword = "${options.password}"\n`;
    await writeFile(
      join(dir, 'config'),
      `[general]
status_path = "${dir}/status/"

[pair contacts]
a = "contacts_local"
b = "contacts_remote"
collections = ["from a", "from b"]
${resolution}
[storage contacts_local]
type = "filesystem"
path = "${dir}/contacts/"
fileext = ".vcf"

[storage contacts_remote]
${remote('carddav')}
[pair events]
a = "events_local"
b = "events_remote"
collections = ["from a", "from b"]
${resolution}
[storage events_local]
type = "filesystem"
path = "${dir}/calendars/"
fileext = ".ics"

[storage events_remote]
${remote('caldav')}`,
    );
    return new Vdirsyncer(dir);
  }

  /** `vdirsyncer discover`, answering yes to creating the local collections. */
  discover(): Promise<RunResult> {
    return run(VDIRSYNCER, ['-v', 'INFO', '-c', join(this.dir, 'config'), 'discover'], 'y\n'.repeat(20));
  }

  async sync(): Promise<RunResult & { moves: Moves }> {
    const result = await run(VDIRSYNCER, ['-v', 'INFO', '-c', join(this.dir, 'config'), 'sync']);
    return { ...result, moves: movesOf(result.stderr) };
  }

  /** The local folder of a collection: `contacts/<name>` or `calendars/<name>`. */
  folder(kind: 'contacts' | 'calendars', collection: string): string {
    return join(this.dir, kind, collection);
  }

  /** Local files of a collection, by file name. */
  async files(kind: 'contacts' | 'calendars', collection: string): Promise<Map<string, string>> {
    const folder = this.folder(kind, collection);
    const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
    return new Map(
      await Promise.all(
        names.map(async (name) => [name, await readFile(join(folder, name), 'utf8')] as const),
      ),
    );
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs a Python 3 script with Debian's interpreter; JSON on its last stdout line is the result. */
export const runPython = async <T>(script: string, env: Record<string, string> = {}): Promise<T> => {
  const dir = await mkdtemp(join(tmpdir(), 'synchub-python-'));
  try {
    const file = join(dir, 'script.py');
    await writeFile(file, script);
    const prelude = Object.entries(env)
      .map(([key, value]) => `${key} = ${JSON.stringify(value)}`)
      .join('\n');
    await writeFile(file, `${prelude}\n${script}`);
    const result = await run(DEBIAN_PYTHON, [file]);
    if (result.code !== 0) throw new Error(`python exited ${result.code}\n${result.stderr}`);
    const last = result.stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as T;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
