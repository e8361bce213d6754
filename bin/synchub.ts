#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth|deploy [-c stage=dev] [-c key=value ...]` (context keys are listed
 * in docs/operations.md). No logic here: configuration is lib/config.ts, the stack lib/.
 */
import { App } from 'aws-cdk-lib';
import { readConfig } from '../lib/config';
import { addNagChecks } from '../lib/nag';
import { SyncHubStack } from '../lib/synchub-stack';

const app = new App();
const config = readConfig(app.node);
new SyncHubStack(app, `SyncHub-${config.stage}`, {
  config,
  // Account and region of the current credentials at deploy time; env-agnostic without them.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
addNagChecks(app);
