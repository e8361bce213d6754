import { ArnFormat, CustomResource, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  type FunctionSpec,
  inboxQueueArn,
  inboxWildcardFinding,
  SyncHubFunction,
  type SyncHubFunctionProps,
} from './function';
import { wildcardResourceFinding } from './nag';

export interface InboxQueueCleanupProps extends Omit<SyncHubFunctionProps, 'definition'> {
  /**
   * Delete the inbox queues when the stack is deleted. When false the resource does nothing and
   * docs/operations.md shows the command that removes them. @default true
   */
  readonly deleteOnRemoval?: boolean;
}

/** The cleanup function: deployment-only, so it is not in the shared definition. */
export const INBOX_CLEANUP_FUNCTION: FunctionSpec = {
  key: 'inbox-cleanup',
  entry: 'lib/inbox-cleanup-handler.ts',
  env: [],
  access: {},
  // Deletes run ten at a time (~50 ms each): 15 minutes covers tens of thousands of devices,
  // and a handler that runs short answers FAILED so a second delete resumes the work.
  timeoutSeconds: 900,
  memoryMb: 256,
  description: 'Deletes the per-device inbox queues when the stack is deleted.',
};

/**
 * Per-device inbox queues are created by the devices API at registration, so CloudFormation
 * does not know them and would leave them behind. This custom resource lists the stack's inbox
 * prefix and deletes every queue under it when the stack is deleted (AwsCustomResource cannot
 * list-then-delete). Functions that create inbox queues must depend on `resource`, so that on
 * deletion they are gone before the cleanup runs and cannot create a queue behind its back.
 */
export class InboxQueueCleanup extends Construct {
  readonly resource: CustomResource;
  readonly handler: SyncHubFunction;

  constructor(scope: Construct, id: string, props: InboxQueueCleanupProps) {
    super(scope, id);
    const { deleteOnRemoval, ...functionProps } = props;
    const inboxPrefix = props.resources.inboxPrefix;
    this.handler = new SyncHubFunction(this, 'Handler', {
      ...functionProps,
      definition: INBOX_CLEANUP_FUNCTION,
    });
    const role = this.handler.function.role!;
    const accountQueues = Stack.of(this).formatArn({
      service: 'sqs',
      resource: '*',
      arnFormat: ArnFormat.NO_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:ListQueues'], resources: [accountQueues] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['sqs:DeleteQueue'],
        resources: [inboxQueueArn(this, inboxPrefix)],
      }),
    );
    Validations.of(this.handler).acknowledge({
      id: wildcardResourceFinding(this, accountQueues),
      reason:
        'sqs:ListQueues is authorized on the account (arn:...:sqs:region:account:*) only; it is filtered by name prefix in the call.',
    });
    Validations.of(this.handler).acknowledge({
      id: inboxWildcardFinding(this, inboxPrefix),
      reason:
        'Deletes only the queues under the stack-specific inbox name prefix; their names are unknown at deploy time.',
    });
    // CloudFormation invokes custom resource handlers asynchronously; a DLQ adds nothing, since
    // CloudFormation waits for the response and times out (with the stack event) if none comes.
    Validations.of(this.handler).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked by CloudFormation, which waits for the response URL and reports a missing one on the stack; nothing to replay.',
    });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.handler.function.functionArn,
      resourceType: 'Custom::SyncHubInboxQueues',
      properties: {
        QueueNamePrefix: inboxPrefix,
        DeleteOnRemoval: String(deleteOnRemoval ?? true),
      },
    });
  }
}
