/**
 * The one test that bundles for real (local esbuild, no Docker): every function's asset is one
 * minified ESM file (plus its source map) that imports nothing but Node.js built-ins, loads on
 * its own from a directory with no node_modules anywhere above it, and is small.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX_PLATFORM_NAMES } from '../../core/platforms';
import { buildStack } from './stack';

/**
 * Budget per bundle. The AWS SDK v3 clients are bundled in (lib/function.ts), and every function
 * that reads the platform registry carries every codec: syncml brings ical.js and
 * fast-xml-parser (about 110 kB). BENCHMARKS.md tracks the sizes against the 150 kB target.
 */
const MAX_BUNDLE_BYTES = 1_000_000;
/** A function that imports nothing must stay tiny: the bundle holds only what it needs. */
const MAX_HEALTH_BUNDLE_BYTES = 2_000;
/** The `$default` function answers CORS preflights: no SDK, no logger, no codecs. */
const MAX_FALLBACK_BUNDLE_BYTES = 20_000;

interface Bundle {
  readonly functionName: string;
  readonly dir: string;
  readonly environment: Record<string, string>;
}

interface Resource {
  readonly Type: string;
  readonly Properties: { FunctionName?: string; Environment?: { Variables?: Record<string, unknown> } };
  readonly Metadata?: Record<string, string>;
}

let outdir: string;
let bundles: Bundle[];

/** Stand-ins for values CloudFormation fills in at deploy time (table names, queue URLs). */
const deployTimeValue = (name: string): string => {
  const queueUrl = (queue: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${queue}`;
  if (name === 'ADAPTER_QUEUE_URLS') {
    return JSON.stringify(
      Object.fromEntries(INBOX_PLATFORM_NAMES.map((platform) => [platform, queueUrl(platform)])),
    );
  }
  if (name.endsWith('_URL')) return queueUrl(name.toLowerCase());
  return `synchub-test-${name.toLowerCase()}`;
};

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'synchub-bundles-'));
  // Asset metadata (aws:asset:path) is what the CLI turns on; it maps each function to its bundle.
  const { app, stack } = buildStack({
    bundle: true,
    outdir,
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as {
    Resources: Record<string, Resource>;
  };
  bundles = Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) => ({
      functionName: resource.Properties.FunctionName as string,
      dir: join(assembly.directory, resource.Metadata!['aws:asset:path']!),
      environment: Object.fromEntries(
        Object.entries(resource.Properties.Environment?.Variables ?? {}).map(([name, value]) => [
          name,
          typeof value === 'string' ? value : deployTimeValue(name),
        ]),
      ),
    }));
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

/** Every module specifier the bundle imports or requires, as esbuild parses it. */
const importsOf = async (file: string): Promise<string[]> => {
  const found = new Set<string>();
  await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    plugins: [
      {
        name: 'record-imports',
        setup(builder) {
          builder.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            found.add(args.path);
            return { path: args.path, external: true };
          });
        },
      },
    ],
  });
  return [...found];
};

describe('function bundles', () => {
  it('exist for every function, one minified ESM file plus its source map each', () => {
    expect(bundles.length).toBeGreaterThanOrEqual(10);
    const rows = bundles.map((bundle) => {
      expect(readdirSync(bundle.dir).sort(), bundle.functionName).toEqual(['index.mjs', 'index.mjs.map']);
      const code = readFileSync(join(bundle.dir, 'index.mjs'), 'utf8');
      // Minified: long lines (only string literals with line breaks add lines).
      expect(code.split('\n').length, bundle.functionName).toBeLessThanOrEqual(
        Math.max(5, code.length / 2000),
      );
      return {
        function: bundle.functionName,
        'index.mjs (kB)': Math.round(statSync(join(bundle.dir, 'index.mjs')).size / 100) / 10,
        'index.mjs.map (kB)': Math.round(statSync(join(bundle.dir, 'index.mjs.map')).size / 100) / 10,
      };
    });
    console.log('Function bundle sizes:');
    console.table(rows);
  });

  it(`are small: at most ${MAX_BUNDLE_BYTES / 1000} kB each, and a function that imports nothing stays tiny`, () => {
    for (const bundle of bundles) {
      const size = statSync(join(bundle.dir, 'index.mjs')).size;
      expect(size, bundle.functionName).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    }
    const health = bundles.find((bundle) => bundle.functionName.endsWith('-health'))!;
    expect(statSync(join(health.dir, 'index.mjs')).size).toBeLessThanOrEqual(MAX_HEALTH_BUNDLE_BYTES);
    const fallback = bundles.find((bundle) => bundle.functionName.endsWith('-fallback'))!;
    expect(statSync(join(fallback.dir, 'index.mjs')).size).toBeLessThanOrEqual(MAX_FALLBACK_BUNDLE_BYTES);
  });

  it('import nothing but Node.js built-ins (the SDK, Powertools, zod and middy are inside)', async () => {
    for (const bundle of bundles) {
      const imports = await importsOf(join(bundle.dir, 'index.mjs'));
      expect(
        imports.filter((specifier) => !isBuiltin(specifier)),
        bundle.functionName,
      ).toEqual([]);
    }
  });

  it('load on their own, outside the repository, with the environment the stack gives them', () => {
    // No node_modules above the cloud assembly: a bare import that escaped the bundle would fail.
    expect(outdir.startsWith(join(__dirname, '..', '..'))).toBe(false);
    const seen = new Set<string>();
    for (const bundle of bundles) {
      if (seen.has(bundle.dir)) continue;
      seen.add(bundle.dir);
      const result = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import(process.argv[1]); if (typeof m.handler !== 'function') throw new Error('no handler export');",
          join(bundle.dir, 'index.mjs'),
        ],
        {
          cwd: bundle.dir,
          encoding: 'utf8',
          timeout: 30_000,
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'eu-west-1',
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            ...bundle.environment,
          },
        },
      );
      // Node 20 here (Lambda runs 24): the SDK's Node-version notice is the only stderr allowed.
      const stderr = result.stderr.replace(
        /\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?to show where the warning was created\)\n/,
        '',
      );
      expect(stderr, bundle.functionName).toBe('');
      expect(result.status, `${bundle.functionName}: ${result.stderr}`).toBe(0);
    }
  });
});
