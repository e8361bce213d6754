import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';

type Item = Record<string, unknown>;

/**
 * Every item of one partition whose sort key starts with `prefix`, strongly consistent, page by
 * page (a Query answers at most 1 MB). A caller that has seen enough stops iterating, and no
 * further page is read.
 */
export async function* queryPrefix(
  db: DynamoDBDocumentClient,
  table: string,
  pk: string,
  prefix: string,
  options: { readonly projection?: string } = {},
): AsyncGenerator<Item[]> {
  let startKey: Item | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
        ...(options.projection ? { ProjectionExpression: options.projection } : {}),
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    yield page.Items ?? [];
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}
