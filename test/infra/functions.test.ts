/**
 * The functions: Node.js 24 on arm64, traced, one log group each with retention, memory and
 * timeout from the definition, the environment the handlers read; and least-privilege IAM: each
 * role holds exactly its definition's access, and wildcards appear only where AWS offers
 * nothing narrower.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { INBOX_PLATFORM_NAMES } from '../../core/platforms';
import { FUNCTIONS, type FunctionDefinition, TABLES, type TableKey } from '../../lib/definition';
import { INBOX_CLEANUP_FUNCTION } from '../../lib/inbox-cleanup';
import type { SyncHubStack } from '../../lib/synchub-stack';
import {
  actionsOf,
  buildStack,
  flat,
  functionsOf,
  getAtt,
  logicalId,
  ref,
  resourcesOf,
  type Statement,
  statementsOfRole,
} from './stack';

let stack: SyncHubStack;
let template: Template;

beforeAll(() => {
  const built = buildStack();
  stack = built.stack;
  template = built.template();
});

const deployed = [...FUNCTIONS.filter((definition) => !definition.localOnly), INBOX_CLEANUP_FUNCTION];
const INBOX_ARN = 'arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:synchub-dev-inbox-*';
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

const roleStatements = (key: string): Statement[] =>
  statementsOfRole(template, logicalId(stack, functionsOf(stack).get(key)!.function.role!));

/** Actions a role holds on a resource (matched by its flattened CloudFormation value). */
const actionsOn = (key: string, resource: unknown): string[] =>
  roleStatements(key)
    .filter((statement) => statement.Effect === 'Allow')
    .filter((statement) => resourcesOf(statement).some((candidate) => flat(candidate) === flat(resource)))
    .flatMap(actionsOf);

it('deploys every function of the definition except the local-only ones, plus the inbox cleanup', () => {
  template.resourceCountIs('AWS::Lambda::Function', deployed.length);
  expect(FUNCTIONS.filter((definition) => definition.localOnly).map((definition) => definition.key)).toEqual([
    'local-token',
  ]);
  expect(
    template.findResources('AWS::Lambda::Function', {
      Properties: { FunctionName: 'synchub-dev-local-token' },
    }),
  ).toEqual({});
});

describe.each(deployed.map((definition) => [definition.key, definition] as const))(
  'function %s',
  (key, definition: Omit<FunctionDefinition, 'trigger'>) => {
    it('runs on Node.js 24, arm64, with X-Ray tracing, memory and timeout from the definition', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `synchub-dev-${key}`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        MemorySize: definition.memoryMb,
        Timeout: definition.timeoutSeconds,
        LoggingConfig: { LogGroup: ref(stack, functionsOf(stack).get(key)!.logGroup) },
      });
    });

    it('gets the environment its handler reads, with Powertools and source maps configured', () => {
      const variables: Record<string, unknown> = {
        POWERTOOLS_SERVICE_NAME: 'synchub',
        POWERTOOLS_METRICS_NAMESPACE: 'SyncHub',
        NODE_OPTIONS: '--enable-source-maps',
        ...definition.constants,
      };
      for (const name of definition.env) variables[name] = Match.anyValue();
      template.hasResourceProperties('AWS::Lambda::Function', {
        FunctionName: `synchub-dev-${key}`,
        Environment: { Variables: Match.objectEquals(variables) },
      });
    });

    it('logs to its own log group, kept 14 days in dev and deleted with the stack', () => {
      template.hasResource('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: `/aws/lambda/synchub-dev-${key}`, RetentionInDays: 14 },
        DeletionPolicy: 'Delete',
      });
    });

    it('has a role of its own with no managed policy; logs go only to its own log group', () => {
      const fn = functionsOf(stack).get(key)!;
      template.hasResourceProperties('AWS::IAM::Role', {
        Description: Match.stringLikeRegexp(`synchub-dev-${key}`),
        ManagedPolicyArns: Match.absent(),
      });
      expect(actionsOn(key, getAtt(stack, fn.logGroup, 'Arn')).sort()).toEqual([
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ]);
    });

    it('holds exactly the table access of its definition', () => {
      for (const table of TABLES) {
        const actions = actionsOn(key, getAtt(stack, stack.tables.table(table.key), 'Arn'));
        const mode = definition.access.tables?.[table.key as TableKey];
        if (mode === undefined) expect(actions, `${key} on ${table.key}`).toEqual([]);
        if (mode === 'read') {
          expect(actions).toContain('dynamodb:GetItem');
          for (const write of WRITE_ACTIONS)
            expect(actions, `${key} writes ${table.key}`).not.toContain(write);
        }
        if (mode === 'readwrite')
          expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', ...WRITE_ACTIONS]));
      }
    });

    it('may send only to the queues of its definition', () => {
      const sendTo = new Set([
        ...(definition.access.sendTo ?? []),
        // The event source's on-failure destination is written by the stream consumers' role.
        ...FUNCTIONS.filter((fn) => fn.key === key && fn.trigger.kind === 'stream').map(() => 'stream-dlq'),
      ]);
      for (const queue of ['stream-dlq', 'inbound', 'adapter-json', 'adapter-jsonpatch', 'inbound-dlq']) {
        const actions = actionsOn(key, getAtt(stack, stack.queues.queue(queue), 'Arn'));
        expect(actions.includes('sqs:SendMessage'), `${key} sends to ${queue}`).toBe(sendTo.has(queue));
      }
    });
  },
);

describe('IAM scoping', () => {
  const allStatements = () =>
    Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
    );

  it('lets the devices API create and delete queues only under the stack inbox prefix', () => {
    expect(roleStatements('devices-api')).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Action: ['sqs:CreateQueue', 'sqs:DeleteQueue'],
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':sqs:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':synchub-dev-inbox-*',
            ],
          ],
        },
      }),
    );
  });

  it('grants queue creation to the devices API (registration), the sync API, the SyncML API, the CouchDB front and the adapters (a lost inbox made anew) only, and queue deletion to the devices API and the cleanup only', () => {
    const holders = (action: string) =>
      deployed
        .map((definition) => definition.key)
        .filter((key) => roleStatements(key).some((statement) => actionsOf(statement).includes(action)));
    expect(holders('sqs:CreateQueue')).toEqual([
      ...INBOX_PLATFORM_NAMES.map((platform) => `adapter-${platform}`),
      'devices-api',
      'sync-api',
      'couchdb-api',
      'syncml-api',
    ]);
    expect(holders('sqs:DeleteQueue')).toEqual(['devices-api', 'inbox-cleanup']);
    for (const statement of allStatements()) {
      if (
        actionsOf(statement).some((action) => action === 'sqs:CreateQueue' || action === 'sqs:DeleteQueue')
      ) {
        expect(resourcesOf(statement).map(flat)).toEqual([INBOX_ARN]);
      }
    }
  });

  it('gives inbox access (send, consume) only to the functions whose definition asks for it', () => {
    for (const definition of deployed) {
      const onInbox = roleStatements(definition.key)
        .filter((statement) => resourcesOf(statement).map(flat).includes(INBOX_ARN))
        .flatMap(actionsOf)
        .sort();
      const expected: Record<string, string[]> = {
        manage: ['sqs:CreateQueue', 'sqs:DeleteQueue'],
        recreate: ['sqs:CreateQueue'],
        send: ['sqs:SendMessage'],
        consume: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'],
      };
      const wanted = (definition.access.inbox ?? []).flatMap((mode) => expected[mode]!);
      if (definition.key === 'inbox-cleanup') wanted.push('sqs:DeleteQueue');
      expect(onInbox, definition.key).toEqual(wanted.sort());
    }
  });

  it('has no wildcard action anywhere', () => {
    for (const statement of allStatements()) {
      for (const action of actionsOf(statement)) expect(action).not.toContain('*');
    }
  });

  it('uses wildcard resources only where AWS offers nothing narrower (each acknowledged in lib/)', () => {
    const allowed: { resource: string; actions: string[] }[] = [
      // X-Ray trace segments have no resource type.
      { resource: '*', actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'] },
      // Per-device inbox queues: names unknown at deploy time; the stack prefix is the scope.
      {
        resource: INBOX_ARN,
        actions: [
          'sqs:CreateQueue',
          'sqs:DeleteQueue',
          'sqs:SendMessage',
          'sqs:ReceiveMessage',
          'sqs:DeleteMessage',
          'sqs:ChangeMessageVisibility',
        ],
      },
      // ListQueues is authorized on the account's queue namespace only.
      { resource: 'arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:*', actions: ['sqs:ListQueues'] },
    ];
    for (const statement of allStatements()) {
      for (const resource of resourcesOf(statement)
        .map(flat)
        .filter((value) => value.includes('*'))) {
        const rule = allowed.find((candidate) => candidate.resource === resource);
        expect(rule, `wildcard resource ${resource}`).toBeDefined();
        for (const action of actionsOf(statement))
          expect(rule!.actions, `${action} on ${resource}`).toContain(action);
      }
    }
  });

  it('lets only the cleanup list queues', () => {
    const listers = deployed.filter((definition) =>
      roleStatements(definition.key).some((statement) => actionsOf(statement).includes('sqs:ListQueues')),
    );
    expect(listers.map((definition) => definition.key)).toEqual(['inbox-cleanup']);
  });
});
