import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../local/local-issuer';
import type { DeviceCredential, World } from './world';

/**
 * The credentials a request carries: the right one, and every way of getting it wrong a client
 * or an attacker might try — none, malformed, the other kind (a device token on a user route), a
 * forged or tampered JWT, another device's id in Basic, a removed device's token, two tokens.
 * `kind` says what the route must make of it: `invalid` ones must be answered 401 (in the shape
 * of the route's protocol) and never reach data.
 */
export interface CredentialChoice {
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly kind: 'valid' | 'invalid' | 'unknown' | 'none';
  readonly device?: DeviceCredential;
  readonly label: string;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** User JWTs that must not pass: signed by another key, unsigned, tampered, expired. */
export interface Forgeries {
  readonly otherKey: string;
  readonly unsigned: string;
  readonly tampered: string;
  readonly expired: string;
  readonly wrongAudience: string;
}

export const forgeUserTokens = async (world: World): Promise<Forgeries> => {
  const { privateKey } = await generateKeyPair('ES256');
  const sign = (claims: { sub: string; aud?: string; exp?: number }) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(LOCAL_ISSUER)
      .setAudience(claims.aud ?? LOCAL_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? '1h')
      .sign(privateKey);
  const [header, , signature] = world.alice.token.split('.');
  return {
    otherKey: await sign({ sub: world.alice.userId }),
    unsigned: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: world.alice.userId, iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: 4102444800 })}.`,
    // Alice's signature over a payload that names mallory.
    tampered: `${header}.${b64url({ sub: world.mallory.userId, iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: 4102444800 })}.${signature}`,
    expired: await sign({ sub: world.alice.userId, exp: Math.floor(Date.now() / 1000) - 3600 }),
    wrongAudience: await sign({ sub: world.alice.userId, aud: 'someone-else' }),
  };
};

const choice = (
  kind: CredentialChoice['kind'],
  label: string,
  authorization?: string | readonly string[],
  device?: DeviceCredential,
): CredentialChoice => ({
  headers: authorization === undefined ? {} : { authorization },
  kind,
  label,
  ...(device ? { device } : {}),
});

/** Malformed `Authorization` values no route accepts. */
const MALFORMED = [
  'Bearer',
  'Bearer ',
  'Bearer a b',
  'Bearer ä',
  'Token abc',
  'Digest username="a"',
  'Basic',
  'Basic !!!',
  `Basic ${b64('no colon')}`,
  ',',
  `Bearer ${'a'.repeat(20_000)}`,
  'Negotiate YII=',
];

export const userCredentials = (world: World, forged: Forgeries): fc.Arbitrary<CredentialChoice> =>
  fc.oneof(
    { weight: 12, arbitrary: fc.constant(choice('valid', 'user jwt', `Bearer ${world.alice.token}`)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        choice('unknown', 'lower-case scheme', `bearer ${world.alice.token}`),
        choice('unknown', 'jwt twice', [`Bearer ${world.alice.token}`, `Bearer ${world.alice.token}`]),
      ),
    },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        choice('invalid', 'no credential'),
        ...MALFORMED.map((value) => choice('invalid', 'malformed', value)),
        choice('invalid', 'jwt of another key', `Bearer ${forged.otherKey}`),
        choice('invalid', 'unsigned jwt', `Bearer ${forged.unsigned}`),
        choice('invalid', 'tampered jwt', `Bearer ${forged.tampered}`),
        choice('invalid', 'expired jwt', `Bearer ${forged.expired}`),
        choice('invalid', 'jwt for another audience', `Bearer ${forged.wrongAudience}`),
        choice('invalid', 'truncated jwt', `Bearer ${world.alice.token.slice(0, -5)}`),
        choice('invalid', 'device token on a user route', `Bearer ${world.devices[0]!.token}`),
        choice('invalid', 'jwt in Basic', `Basic ${b64(`${world.alice.userId}:${world.alice.token}`)}`),
      ),
    },
  );

const otherToken = (token: string) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

/**
 * Device credentials, mostly of the devices `preferred` picks (a front's own platform), now and
 * then of another platform's device, which the route must refuse or serve by its own rules.
 */
export const deviceCredentials = (
  world: World,
  preferred: (device: DeviceCredential) => boolean = () => true,
): fc.Arbitrary<CredentialChoice> => {
  const own = world.devices.filter(preferred);
  const others = world.devices.filter((device) => !preferred(device));
  const devices = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(own.length > 0 ? own : world.devices)) },
    ...(others.length > 0 ? [{ weight: 1, arbitrary: fc.constantFrom(...others) }] : []),
  );
  return devices.chain((device) => {
    const other = world.devices.find((candidate) => candidate !== device)!;
    const basic = (user: string, token: string) => `Basic ${b64(`${user}:${token}`)}`;
    return fc.oneof(
      {
        weight: 12,
        arbitrary: fc.constantFrom(
          choice('valid', 'device bearer', `Bearer ${device.token}`, device),
          choice('valid', 'device basic', basic(device.deviceId, device.token), device),
          // PouchDB sends both, comma-joined.
          choice(
            'valid',
            'basic and bearer',
            `${basic(device.deviceId, device.token)}, Bearer ${device.token}`,
            device,
          ),
        ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          choice('unknown', 'lower-case scheme', `bearer ${device.token}`, device),
          choice('unknown', 'token twice', [`Bearer ${device.token}`, `Bearer ${device.token}`], device),
        ),
      },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          choice('invalid', 'no credential'),
          ...MALFORMED.map((value) => choice('invalid', 'malformed', value)),
          choice('invalid', 'user jwt on a device route', `Bearer ${world.alice.token}`),
          choice('invalid', 'unknown device token', `Bearer sdt_${'A'.repeat(43)}`),
          choice('invalid', 'altered device token', `Bearer ${otherToken(device.token)}`),
          choice('invalid', "a removed device's token", `Bearer ${world.removed.token}`),
          choice('invalid', 'basic naming the witness', basic(world.witness.deviceId, device.token)),
          choice(
            'invalid',
            "basic naming mallory's device",
            basic(world.mallory.devices[0]!.deviceId, device.token),
          ),
          choice('invalid', 'basic with a wrong password', basic(device.deviceId, otherToken(device.token))),
          choice('invalid', 'two tokens', `Bearer ${device.token}, Bearer ${other.token}`),
          choice('invalid', 'two token headers', [`Bearer ${device.token}`, `Bearer ${other.token}`]),
          choice('invalid', 'token without a scheme', device.token),
        ),
      },
    );
  });
};

/** Routes anyone may call: any credential or none, no expectation tied to it. */
export const anyCredentials = (world: World): fc.Arbitrary<CredentialChoice> =>
  fc.constantFrom(
    choice('none', 'no credential'),
    choice('none', 'user jwt', `Bearer ${world.alice.token}`),
    choice('none', 'device token', `Bearer ${world.devices[0]!.token}`),
    choice('none', 'malformed', 'Bearer a b'),
  );
