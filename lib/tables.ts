import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLES, type TableKey } from './definition';

export interface TablesProps {
  /** Physical name prefix (`synchub-${stage}-`). */
  readonly prefix: string;
  /** What happens to the data when the stack (or a table) is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The DynamoDB tables of the definition: on-demand, point-in-time recovery, encrypted with the
 * AWS managed key (encryption at rest visible and auditable in the account's KMS, nothing to
 * rotate), TTL and streams exactly as the definition says. Retained tables are also protected
 * against deletion, so a stack rename cannot drop production data.
 */
export class Tables extends Construct {
  private readonly byKey = new Map<TableKey, TableV2>();

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    for (const definition of TABLES) {
      const table = new TableV2(this, definition.key, {
        tableName: `${props.prefix}${definition.suffix}`,
        partitionKey: { name: definition.partitionKey, type: AttributeType.STRING },
        sortKey: { name: definition.sortKey, type: AttributeType.STRING },
        billing: Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        encryption: TableEncryptionV2.awsManagedKey(),
        timeToLiveAttribute: definition.ttlAttribute,
        dynamoStream: definition.stream ? StreamViewType[definition.stream] : undefined,
        deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
        removalPolicy,
      });
      this.byKey.set(definition.key, table);
    }
  }

  /** The table for a definition key; throws on a key the definition does not have. */
  table(key: TableKey): TableV2 {
    const table = this.byKey.get(key);
    if (!table) throw new Error(`no table "${key}" in the definition`);
    return table;
  }
}
