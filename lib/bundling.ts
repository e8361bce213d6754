import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How the functions are bundled for Lambda, shared by the stack (lib/function.ts) and the
 * benchmark that measures the bundles (bench/footprint.ts), so what is measured is what ships.
 * Plain data: no CDK here.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Packages replaced at bundling time: Lambda gives the role's credentials in the environment,
 * so the SDK's default credential chain (and the STS/SSO clients it pulls in) is replaced by an
 * environment-only provider (lib/bundling/env-credentials.ts).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': join(ROOT, 'lib/bundling/env-credentials.ts'),
};

/** The AWS SDK's packages, as the Node.js Lambda runtime ships them. */
export const RUNTIME_SDK_PACKAGES: readonly string[] = ['@aws-sdk/*', '@smithy/*'];

/**
 * Whether the bundles use the AWS SDK that ships with the Lambda runtime instead of bundling
 * their own. Chosen by the figures of `npm run bench` (BENCHMARKS.md, "Cold start and
 * footprint"): see there for both measured side by side.
 */
export const USE_RUNTIME_SDK = false;

/** The ESM banner: bundled CommonJS calls `require`, which ESM does not have. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";
