/**
 * Figure 5: each function bundled as lib/function.ts bundles it for Lambda (esbuild, minified
 * ESM, node24, the createRequire banner, the aliases of lib/bundling.ts), its size, and its
 * module initialisation time: the median of repeated imports of the bundle by a fresh `node`
 * process — with the AWS SDK bundled and with the Lambda runtime's copy, side by side.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { BUNDLE_ALIASES, ESM_REQUIRE_BANNER, RUNTIME_SDK_PACKAGES } from '../lib/bundling';
import { FUNCTIONS } from '../lib/definition';
import { type Summary, summarize } from './stats';

const run = promisify(execFile);
const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');

/**
 * The ways a function is bundled and started that the bench compares (lib/bundling.ts):
 * - `bundled`: everything inside the bundle, the AWS SDK included; tracing on, as deployed;
 * - `runtimeSdk`: the AWS SDK left to the copy the Lambda runtime ships; tracing on;
 * - `untraced`: as `bundled`, with tracing off (the Tracer and X-Ray SDK never loaded).
 */
export const VARIANTS = ['bundled', 'runtimeSdk', 'untraced'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface VariantResult {
  bytes: number;
  initMs: Summary;
  /** The largest contributors to the bundle, by package (bytes in the minified output). */
  topPackages: { name: string; bytes: number }[];
}

export interface BundleResult extends VariantResult {
  function: string;
  entry: string;
  /** Each variant measured in the same rounds (the top-level fields are `bundled`, as deployed). */
  variants: Record<Variant, VariantResult>;
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
  AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
};

/** Imports the bundle in a fresh process and prints how long the import took, in ms. */
const IMPORT_PROBE =
  'const t=performance.now();await import(process.argv[1]);process.stdout.write(String(performance.now()-t));';

const bundleOne = async (entry: string, outfile: string, variant: Variant) => {
  const { metafile } = await build({
    metafile: true,
    entryPoints: [join(ROOT, entry)],
    outfile,
    bundle: true,
    format: 'esm',
    target: 'node24',
    platform: 'node',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: ESM_REQUIRE_BANNER },
    alias: { ...BUNDLE_ALIASES },
    external: variant === 'runtimeSdk' ? [...RUNTIME_SDK_PACKAGES] : [],
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
  return { bytes: size, topPackages };
};

/**
 * Bundles every function in each variant and times fresh imports of them, the variants taking
 * turns round by round so a loaded machine weighs on each alike. The bundles are written under
 * node_modules/.cache so that a bundle leaving the SDK out resolves it as the runtime would.
 */
export const measureBundles = async (options: { repeats: number }): Promise<BundleResult[]> => {
  const cache = join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'synchub-bench-bundles-'));
  try {
    const functions = FUNCTIONS.filter((definition, index) => {
      if (definition.localOnly) return false;
      // The adapters of every platform share one entry (one bundle); measure it once.
      return FUNCTIONS.findIndex((other) => other.entry === definition.entry) === index;
    });
    const built = new Map<
      string,
      Record<Variant, { bytes: number; topPackages: VariantResult['topPackages']; file: string }>
    >();
    for (const definition of functions) {
      const variants = {} as Record<
        Variant,
        { bytes: number; topPackages: VariantResult['topPackages']; file: string }
      >;
      for (const variant of VARIANTS) {
        const file = join(dir, `${definition.key}-${variant}.mjs`);
        variants[variant] = { ...(await bundleOne(definition.entry, file, variant)), file };
      }
      built.set(definition.key, variants);
    }
    const times = new Map<string, number[]>();
    for (let round = 0; round < options.repeats; round++) {
      for (const definition of functions) {
        for (const variant of VARIANTS) {
          // As on Lambda (functions/lib/middleware.ts): tracing unless POWERTOOLS_TRACE_ENABLED
          // is 'false', which only the untraced variant sets.
          const tracing = {
            AWS_LAMBDA_FUNCTION_NAME: `bench-${definition.key}`,
            ...(variant === 'untraced' ? { POWERTOOLS_TRACE_ENABLED: 'false' } : {}),
          };
          const { stdout } = await run(
            process.execPath,
            ['--input-type=module', '-e', IMPORT_PROBE, built.get(definition.key)![variant].file],
            {
              env: {
                PATH: process.env.PATH ?? '',
                ...DUMMY_ENV,
                ...tracing,
                ...(definition.constants ?? {}),
              },
              timeout: 30_000,
              maxBuffer: 1_000_000,
            },
          );
          const key = `${definition.key}/${variant}`;
          times.set(key, [...(times.get(key) ?? []), Number(stdout)]);
        }
      }
    }
    return functions.map((definition) => {
      const variants = Object.fromEntries(
        VARIANTS.map((variant) => {
          const { bytes, topPackages } = built.get(definition.key)![variant];
          return [
            variant,
            { bytes, topPackages, initMs: summarize(times.get(`${definition.key}/${variant}`) ?? []) },
          ];
        }),
      ) as Record<Variant, VariantResult>;
      return {
        function: definition.entry === 'functions/adapter.ts' ? 'adapter-*' : definition.key,
        entry: definition.entry,
        ...variants.bundled,
        variants,
      };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
