/**
 * Shared set-up of the infrastructure tests: builds the CDK app the way bin/synchub.ts does,
 * offline. `new App()` does not read cdk.json, so its context (the feature flags) is passed in
 * here, plus `aws:cdk:bundling-stacks: []` to skip esbuild unless a test asks for real bundles.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, type Environment, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { readConfig } from '../../lib/config';
import { PROJECT_ROOT, type SyncHubFunction } from '../../lib/function';
import { SyncHubStack } from '../../lib/synchub-stack';

/** The context of cdk.json (feature flags), as `cdk synth` would pass it. */
export const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> })
    .context;

export interface BuildOptions {
  /** CDK context on top of cdk.json's (`-c key=value`). */
  readonly context?: Record<string, unknown>;
  /** Bundle the functions with esbuild for real. @default false */
  readonly bundle?: boolean;
  /** Stack environment. @default environment-agnostic */
  readonly env?: Environment;
  /** Cloud assembly directory (only needed when bundling). */
  readonly outdir?: string;
}

export interface Built {
  readonly app: App;
  readonly stack: SyncHubStack;
  /** Synthesizes on first use (construction alone is enough for cdk-nag). */
  readonly template: () => Template;
}

export const buildStack = (options: BuildOptions = {}): Built => {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      ...options.context,
    },
    ...(options.outdir ? { outdir: options.outdir } : {}),
  });
  const config = readConfig(app.node);
  const stack = new SyncHubStack(app, `SyncHub-${config.stage}`, {
    config,
    ...(options.env ? { env: options.env } : {}),
  });
  let template: Template | undefined;
  return {
    app,
    stack,
    template: () => {
      template ??= Template.fromStack(stack);
      return template;
    },
  };
};

/** Every function the stack deploys, by definition key. */
export const functionsOf = (stack: SyncHubStack): Map<string, SyncHubFunction> =>
  new Map(
    [
      ...stack.pipeline.functions.values(),
      ...stack.adapters.functions.values(),
      ...stack.inbound.functions.values(),
      ...stack.deviceApi.functions.values(),
      stack.inboxCleanup.handler,
    ].map((fn) => [fn.definition.key, fn]),
  );

/** Logical id of a construct's CloudFormation resource (its default child). */
export const logicalId = (stack: Stack, construct: IConstruct): string =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

/** `{ Ref }` / `{ Fn::GetAtt }` of a construct, as the template writes references to it. */
export const ref = (stack: Stack, construct: IConstruct) => ({ Ref: logicalId(stack, construct) });
export const getAtt = (stack: Stack, construct: IConstruct, attribute: string) => ({
  'Fn::GetAtt': [logicalId(stack, construct), attribute],
});

/** IAM statements of the policies attached to a role (by the role's logical id). */
export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}
export const statementsOfRole = (template: Template, roleLogicalId: string): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      (policy.Properties.Roles as unknown[]).some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
      ),
    )
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
export const resourcesOf = (statement: Statement): unknown[] =>
  Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];

/** A CloudFormation value as one string (`Fn::Join` joined, references as `<Name>`), for matching. */
export const flat = (value: unknown): string => {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    if (Array.isArray(node['Fn::Join'])) {
      const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(flat).join(delimiter);
    }
    if (node.Ref !== undefined) return `<${String(node.Ref)}>`;
    if (Array.isArray(node['Fn::GetAtt'])) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
  }
  return JSON.stringify(value);
};
