/**
 * cdk-nag's AwsSolutions and Serverless packs report no unacknowledged finding, for an
 * environment-agnostic stack and for one with an account and region (as `cdk deploy` builds
 * it: finding ids of wildcard ARNs differ between the two). Any new finding fails here. Every
 * acknowledgement states its reason and answers a finding the packs really raise.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterEach, describe, expect, it } from 'vitest';
import { nagFindings } from '../../lib/nag';
import { buildStack } from './stack';

interface Acknowledgement {
  readonly id: string;
  readonly path: string;
  readonly reason: string;
}

/** Every acknowledgement in a construct tree, where it was made. */
const acknowledgements = (scope: IConstruct): Acknowledgement[] =>
  scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          path: construct.node.path,
          reason,
        })),
      ),
  );

const original = Validations.of;
afterEach(() => {
  Validations.of = original;
});

/** Builds the stack with every `acknowledge` call ignored: the findings the packs raise. */
const rawFindings = () => {
  Validations.of = (scope) => {
    const validations = original.call(Validations, scope);
    return new Proxy(validations, {
      get: (target, property) =>
        property === 'acknowledge' ? () => {} : Reflect.get(target, property, target),
    });
  };
  try {
    return nagFindings(buildStack().stack);
  } finally {
    Validations.of = original;
  }
};

describe('cdk-nag (AwsSolutions and Serverless packs)', () => {
  // Construction is enough for the packs: nothing here is synthesized.
  const agnostic = buildStack().stack;

  it('reports no unacknowledged finding for an environment-agnostic stack', () => {
    expect(nagFindings(agnostic)).toEqual([]);
  });

  it('reports no unacknowledged finding for a stack with an account and region', () => {
    const { stack } = buildStack({ env: { account: '123456789012', region: 'eu-west-1' } });
    expect(nagFindings(stack)).toEqual([]);
  });

  it('reports no unacknowledged finding for a production stage with an external issuer', () => {
    const { stack } = buildStack({
      context: {
        stage: 'prod',
        jwtIssuer: 'https://login.example.com/',
        jwtAudience: 'app',
        alarmEmail: 'a@example.com',
      },
    });
    expect(nagFindings(stack)).toEqual([]);
  });

  it('is live: a new resource with problems is reported', () => {
    const stack = new Stack(new App(), 'Scratch');
    new Queue(stack, 'Plain');
    const rules = nagFindings(stack).map((finding) => finding.rule);
    expect(rules).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4', 'Serverless-SQSRedrivePolicy']),
    );
  });

  it('has a specific reason for every acknowledgement', () => {
    const acknowledged = acknowledgements(agnostic);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const { id, path, reason } of acknowledged) {
      expect(reason.length, `${id} at ${path}`).toBeGreaterThanOrEqual(40);
    }
  });

  it('acknowledges only findings the packs raise (no stale acknowledgement)', () => {
    const raised = rawFindings();
    expect(raised.length).toBeGreaterThan(0);
    for (const { id, path } of acknowledgements(agnostic)) {
      const answered = raised.some((finding) => finding.rule === id && finding.path.startsWith(`${path}/`));
      expect(answered, `${id} acknowledged at ${path}`).toBe(true);
    }
  });
});
