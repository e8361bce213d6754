import { type App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * cdk-nag's AwsSolutions and Serverless packs, as CDK policy-validation plugins: `cdk synth` and
 * `cdk deploy` stop on any finding that is not acknowledged (`Validations.of(construct)
 * .acknowledge({ id, reason })`, next to the resource that causes it, always with a reason).
 */
export const addNagChecks = (app: App): void => {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
};

/** One unacknowledged finding: rule (with finding id) and construct path. */
export interface NagFinding {
  readonly rule: string;
  readonly path: string;
  readonly description: string;
}

/** Runs both packs over a construct tree directly (what the tests use; no synthesis needed). */
export const nagFindings = (scope: IConstruct): NagFinding[] =>
  [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack.validateScope(scope).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? resource.resourceLogicalId ?? '?',
        description: violation.description,
      })),
    ),
  );

/**
 * A CloudFormation value flattened the way cdk-nag prints it in finding ids (its internal
 * `flattenCfnReference`): `Fn::Join` joined, `Ref` as `<Name>`, `Fn::GetAtt` as `<Res.Attr>`.
 */
const flatten = (node: unknown): string => {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const value = node as Record<string, unknown>;
    if (Array.isArray(value['Fn::Join'])) {
      const [delimiter, items] = value['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (value['Fn::Sub'] !== undefined) return flatten(value['Fn::Sub']);
    if (Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (value['Fn::ImportValue'] !== undefined) return flatten(value['Fn::ImportValue']);
    if (value.Ref !== undefined) return `<${flatten(value.Ref)}>`;
  }
  return JSON.stringify(node);
};

/**
 * The AwsSolutions-IAM5 finding id for a wildcard resource, exactly as cdk-nag computes it. The
 * id depends on the stack's environment (`arn:aws:sqs:eu-west-1:...` when the region is known,
 * `arn:<AWS::Partition>:sqs:<AWS::Region>:...` when it is not), so it is derived from the
 * resolved ARN rather than written out by hand.
 */
export const wildcardResourceFinding = (scope: IConstruct, resource: string): string =>
  `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(resource))}]`;
