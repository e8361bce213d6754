import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { UserSettings } from '../core/model';
import { SETTINGS_SK, userPk } from './keys';

export const settingsFromItem = (item: Record<string, unknown> | undefined): UserSettings =>
  typeof item?.settings === 'string' ? (JSON.parse(item.settings) as UserSettings) : {};

/** The user's settings, versioned; every function reads them afresh, so a change applies to the next change. */
export class UserSettingsStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The settings and their version (0 and `{}` before the first change). */
  async get(userId: string): Promise<{ settings: UserSettings; version: number }> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: SETTINGS_SK },
        ConsistentRead: true,
      }),
    );
    return { settings: settingsFromItem(Item), version: Number(Item?.version ?? 0) };
  }

  /** Replaces the settings; resolves to the new version. */
  async put(userId: string, settings: UserSettings): Promise<number> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: userPk(userId), sk: SETTINGS_SK },
        UpdateExpression: 'SET settings = :settings, version = if_not_exists(version, :zero) + :one',
        ExpressionAttributeValues: { ':settings': JSON.stringify(settings), ':zero': 0, ':one': 1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.version ?? 1);
  }
}
