/**
 * Figure 5: each function bundled as lib/function.ts bundles it for Lambda (esbuild, minified
 * ESM, node24, everything inlined, the createRequire banner), its size, and its module
 * initialisation time: the median of repeated imports of the bundle by a fresh `node` process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { FUNCTIONS } from '../lib/definition';
import { type Summary, summarize } from './stats';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/** The banner lib/function.ts adds (ESM bundles need `require` for inlined CommonJS). */
const BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

export interface BundleResult {
  function: string;
  entry: string;
  bytes: number;
  initMs: Summary;
  /** The largest contributors to the bundle, by package (bytes in the minified output). */
  topPackages: { name: string; bytes: number }[];
}

/** `node_modules/@scope/name/...` → `@scope/name`; own code → its top folder. */
export const packageOf = (input: string): string => {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return `(own) ${input.split('/')[0]}`;
  const parts = input.slice(at + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
};

/** What the stack would set, with placeholder values: enough for every module to initialise. */
const DUMMY_ENV: Record<string, string> = {
  OBJECTS_TABLE: 'bench-objects',
  SYNC_TABLE: 'bench-sync',
  DEVICES_TABLE: 'bench-devices',
  INBOUND_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-inbound.fifo',
  ADAPTER_QUEUE_URLS: JSON.stringify({
    json: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-adapter-json.fifo',
    jsonpatch: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-adapter-jsonpatch.fifo',
  }),
  ADAPTER_DLQ_URLS: JSON.stringify({
    json: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-adapter-json-dlq.fifo',
    jsonpatch: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-adapter-jsonpatch-dlq.fifo',
  }),
  INBOUND_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-inbound-dlq.fifo',
  INBOX_QUEUE_PREFIX: 'bench-inbox-',
  STREAM_DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-stream-dlq',
  PLATFORM: 'json',
  USER_JWT_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench',
  USER_JWT_AUDIENCE: 'bench',
  USER_JWKS_URL: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench/.well-known/jwks.json',
  ROUTE_KEYS: '["GET /v1/health"]',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  POWERTOOLS_SERVICE_NAME: 'synchub',
  POWERTOOLS_METRICS_NAMESPACE: 'SyncHub',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_TRACE_ENABLED: 'false',
  AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
};

/** Imports the bundle in a fresh process and prints how long the import took, in ms. */
const IMPORT_PROBE =
  'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t));';

export const measureBundles = async (options: { repeats: number }): Promise<BundleResult[]> => {
  const dir = await mkdtemp(join(tmpdir(), 'synchub-bench-bundles-'));
  try {
    const results: BundleResult[] = [];
    const seen = new Set<string>();
    for (const definition of FUNCTIONS) {
      if (definition.localOnly) continue;
      // The adapters of every platform share one entry (one bundle); measure it once.
      if (seen.has(definition.entry)) continue;
      seen.add(definition.entry);
      const outfile = join(dir, `${definition.key}.mjs`);
      const { metafile } = await build({
        metafile: true,
        entryPoints: [join(ROOT, definition.entry)],
        outfile,
        bundle: true,
        format: 'esm',
        target: 'node24',
        platform: 'node',
        minify: true,
        mainFields: ['module', 'main'],
        banner: { js: BANNER },
        logLevel: 'error',
      });
      const { size } = await stat(outfile);
      const byPackage = new Map<string, number>();
      for (const output of Object.values(metafile.outputs))
        for (const [input, { bytesInOutput }] of Object.entries(output.inputs))
          byPackage.set(packageOf(input), (byPackage.get(packageOf(input)) ?? 0) + bytesInOutput);
      const topPackages = [...byPackage]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 6)
        .map(([name, bytes]) => ({ name, bytes }));
      const times: number[] = [];
      for (let i = 0; i < options.repeats; i++) {
        const { stdout } = await run(process.execPath, ['--input-type=module', '-e', IMPORT_PROBE, outfile], {
          env: { PATH: process.env.PATH ?? '', ...DUMMY_ENV, ...(definition.constants ?? {}) },
          timeout: 30_000,
        });
        times.push(Number(stdout));
      }
      results.push({
        function: definition.entry === 'functions/adapter.ts' ? 'adapter-*' : definition.key,
        entry: definition.entry,
        bytes: size,
        initMs: summarize(times),
        topPackages,
      });
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
