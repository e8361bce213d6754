/**
 * Stands in for `@aws-sdk/credential-provider-node` in the function bundles (lib/bundling.ts):
 * on Lambda a function's role credentials are in its environment, so the default chain's other
 * sources (SSO, profiles, web identity, the instance metadata service, and the STS and SSO
 * clients they carry) are dead weight at every cold start. Same export as the package it
 * replaces; the same variables the SDK's own environment provider reads.
 */
export const defaultProvider =
  () => async (): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw Object.assign(new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set'), {
        name: 'CredentialsProviderError',
      });
    }
    const sessionToken = process.env.AWS_SESSION_TOKEN;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  };
