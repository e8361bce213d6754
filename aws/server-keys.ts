import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailure } from './errors';
import { ACK_TOKEN_KEY } from './keys';

/**
 * Keys only the functions hold, kept in the device registry table (which every function that
 * needs one reads anyway): no secret in the template or the environment, and no further SDK
 * client. Made on first use (256 random bits, a conditional put, so concurrent cold starts agree
 * on one), read once per container. Replacing one: delete its item; tokens sealed under the old
 * key then no longer open (docs/operations.md, "Ack tokens").
 */
export class ServerKeys {
  private ackToken: Promise<Buffer> | undefined;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The key of the ack tokens (functions/lib/ack-token.ts). */
  ackTokenKey(): Promise<Buffer> {
    this.ackToken ??= this.load().catch((error: unknown) => {
      this.ackToken = undefined; // a failed read is not kept: the next request reads again
      throw error;
    });
    return this.ackToken;
  }

  private async load(): Promise<Buffer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.table, Key: ACK_TOKEN_KEY, ConsistentRead: true }),
      );
      if (typeof Item?.key === 'string') return Buffer.from(Item.key, 'base64');
      const key = randomBytes(32);
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...ACK_TOKEN_KEY, key: key.toString('base64'), createdAt: new Date().toISOString() },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return key;
      } catch (error) {
        // Another cold start made it first: read theirs.
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new Error('the ack token key could not be read after it was made');
  }
}
