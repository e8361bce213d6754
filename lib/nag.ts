import { type App, Validations } from 'aws-cdk-lib';
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
