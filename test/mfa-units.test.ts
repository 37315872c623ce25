/**
 * The second-factor parts in-process: sealing, derived keys, remembered devices, TOTP windows,
 * the policy, the settings, and, on a private redis-server, that a code or a recovery code is
 * spent exactly once even when two requests race for it.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Regulation } from '../src/auth/regulation.js';
import type { MfaConfig } from '../src/config/config.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import type { DirectoryUser } from '../src/directory/directory.js';
import { EnrolmentLinks } from '../src/mfa/enrolment-links.js';
import { passkeysWorkAt } from '../src/web/webauthn-form.js';
import { EnrolmentExpiredError, EnrolmentNotAllowedError, SecondFactorInvalidError, SecondFactorRequiredError } from '../src/mfa/errors.js';
import { FactorStore } from '../src/mfa/factor-store.js';
import { MfaKeys } from '../src/mfa/mfa-keys.js';
import { requirementFor } from '../src/mfa/mfa-policy.js';
import { looksLikeRecoveryCode, newRecoveryCodes } from '../src/mfa/recovery-codes.js';
import { PasskeyCeremonies } from '../src/mfa/passkeys.js';
import type { FactorRecord } from '../src/mfa/factor-record.js';
import { RememberedDevices } from '../src/mfa/remembered-device.js';
import { open, seal, SealBrokenError } from '../src/mfa/sealed-box.js';
import { SecondFactors } from '../src/mfa/second-factors.js';
import { totpStep } from '../src/mfa/totp.js';
import { Metrics } from '../src/ops/metrics.js';
import { redisKeys } from '../src/redis/keys.js';
import { baseEnv } from './support/gateway.js';
import { RedisServer } from './support/redis.js';
import { totp } from './support/totp.js';

const KEY = Buffer.alloc(32, 7);
const user = (username: string, groups: string[] = []): DirectoryUser => ({ username, dn: `uid=${username},dc=example`, groups: groups.map((name) => ({ name, dn: `cn=${name},dc=example` })) });

describe('sealed box and derived keys', () => {
  it('opens what it sealed, and nothing that was sealed for another person, with another key, or changed', () => {
    const sealed = seal(KEY, '{"a":1}', 'alice');
    assert.equal(open(KEY, sealed, 'alice'), '{"a":1}');
    assert.notEqual(seal(KEY, '{"a":1}', 'alice'), sealed, 'a fresh nonce every time');
    assert.throws(() => open(KEY, sealed, 'bob'), SealBrokenError);
    assert.throws(() => open(Buffer.alloc(32, 8), sealed, 'alice'), SealBrokenError);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] as string, 'base64url');
    body[0] = (body[0] as number) ^ 1;
    assert.throws(() => open(KEY, [parts[0], parts[1], parts[2], body.toString('base64url')].join('.'), 'alice'), SealBrokenError);
    assert.throws(() => open(KEY, 'garbage', 'alice'), SealBrokenError);
  });

  it('derives a different key for each use; hashes depend on purpose and key', () => {
    const keys = new MfaKeys(KEY);
    assert.notDeepEqual(keys.seal, KEY);
    assert.equal(keys.hash('recovery code', 'X'), keys.hash('recovery code', 'X'));
    assert.notEqual(keys.hash('recovery code', 'X'), keys.hash('app password', 'X'));
    assert.notEqual(keys.hash('recovery code', 'X'), new MfaKeys(Buffer.alloc(32, 8)).hash('recovery code', 'X'));
    assert.notEqual(keys.signDevice('p'), keys.hash('', 'p'));
  });
});

describe('remembered devices', () => {
  const devices = new RememberedDevices(new MfaKeys(KEY), 86_400_000);
  it('remember one person and generation until they expire; a changed byte is refused', () => {
    const cookie = devices.issue('alice', 'gen1', 1000);
    assert.ok(devices.remembers(cookie, 'alice', 'gen1', 2000));
    assert.ok(!devices.remembers(cookie, 'bob', 'gen1', 2000));
    assert.ok(!devices.remembers(cookie, 'alice', 'gen2', 2000), 'a reset starts a new generation');
    assert.ok(!devices.remembers(cookie, 'alice', 'gen1', 1000 + 86_400_001), 'expired');
    assert.ok(!devices.remembers(`${cookie.slice(0, -1)}${cookie.endsWith('A') ? 'B' : 'A'}`, 'alice', 'gen1', 2000));
    assert.ok(!devices.remembers(cookie.replace('.gen1.', '.gen2.'), 'alice', 'gen2', 2000), 'the generation is signed');
    assert.ok(!devices.remembers(undefined, 'alice', 'gen1', 2000));
    assert.ok(!devices.remembers('nodot', 'alice', 'gen1', 2000));
  });
  it('are different on every device', () => {
    assert.notEqual(devices.issue('alice', 'g', 1), devices.issue('alice', 'g', 1));
  });
});

describe('TOTP windows', () => {
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const now = 1_800_000_000_000;
  it('accepts the current code and one step of drift either way, nothing further', async () => {
    const step = Math.floor(now / 30_000);
    assert.equal(await totpStep(secret, totp(secret, 0, now), now, 0), step);
    assert.equal(await totpStep(secret, totp(secret, -1, now), now, 0), step - 1);
    assert.equal(await totpStep(secret, totp(secret, 1, now), now, 0), step + 1);
    assert.equal(await totpStep(secret, totp(secret, 2, now), now, 0), undefined);
    assert.equal(await totpStep(secret, totp(secret, -2, now), now, 0), undefined);
  });
  it('refuses a code of a step already used, or earlier', async () => {
    const step = Math.floor(now / 30_000);
    assert.equal(await totpStep(secret, totp(secret, 0, now), now, step), undefined);
    assert.equal(await totpStep(secret, totp(secret, -1, now), now, step - 1), undefined);
    assert.equal(await totpStep(secret, totp(secret, 1, now), now, step), step + 1);
  });
  it('refuses what is not six digits', async () => {
    for (const code of ['', '12345', '1234567', 'abcdef', ' 123456x']) assert.equal(await totpStep(secret, code, now, 0), undefined, code);
  });
  it('recovery codes are ten distinct codes in the unambiguous alphabet', () => {
    const codes = newRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    assert.ok(looksLikeRecoveryCode((codes[0] as string).toLowerCase().replace(/-/g, ' ')));
    assert.ok(!looksLikeRecoveryCode('123456'));
  });
});

describe('policy and settings', () => {
  const policy = (mode: MfaConfig['mode'], requiredGroups: string[] = []) => ({ mode, requiredGroups });
  it('off asks nothing, required asks everyone, optional asks the required groups (by name or DN)', () => {
    assert.equal(requirementFor(policy('off'), user('a', ['admins'])), 'none');
    assert.equal(requirementFor(policy('required'), user('a')), 'required');
    assert.equal(requirementFor(policy('optional'), user('a')), 'optional');
    assert.equal(requirementFor(policy('optional', ['Admins']), user('a', ['admins'])), 'required');
    assert.equal(requirementFor(policy('optional', ['cn=admins,dc=example']), user('a', ['admins'])), 'required');
    assert.equal(requirementFor(policy('optional', ['admins']), user('a', ['users'])), 'optional');
  });

  const problems = (env: Record<string, string>) => {
    const base = baseEnv({ ldapUrl: 'ldap://127.0.0.1:389', redisUrl: 'redis://127.0.0.1:6379', upstreamUrl: 'http://paperless:8000', port: 8080, paperlessToken: 'a'.repeat(40) });
    try {
      loadConfig({ ...base, ...env });
      return new Map<string, string>();
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return new Map(err.problems.map((p) => [p.variable, p.message]));
    }
  };

  it('names each bad GATEWAY_MFA_* variable', () => {
    assert.match(problems({ GATEWAY_MFA: 'required' }).get('GATEWAY_MFA_KEY') ?? '', /is required while GATEWAY_MFA is required/);
    assert.match(problems({ GATEWAY_MFA: 'yes' }).get('GATEWAY_MFA') ?? '', /off, optional or required/);
    assert.match(problems({ GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'correct horse battery staple' }).get('GATEWAY_MFA_KEY') ?? '', /32 random bytes/);
    assert.match(problems({ GATEWAY_MFA_REQUIRED_GROUPS: 'admins' }).get('GATEWAY_MFA_REQUIRED_GROUPS') ?? '', /no effect while GATEWAY_MFA is off/);
    assert.match(problems({ GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: 'ab'.repeat(32), GATEWAY_MFA_ENROLMENT: 'first-login', GATEWAY_PROVISIONING: 'off' }).get('GATEWAY_MFA_ENROLMENT') ?? '', /needs GATEWAY_PROVISIONING=on/);
    assert.match(problems({ GATEWAY_MFA: 'required', GATEWAY_MFA_KEY: 'ab'.repeat(32), GATEWAY_MFA_REMEMBER_DEVICE: '5m' }).get('GATEWAY_MFA_REMEMBER_DEVICE') ?? '', /./);
    assert.equal(problems({ GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: Buffer.alloc(32, 1).toString('base64'), GATEWAY_MFA_REMEMBER_DEVICE: '14d' }).size, 0);
    const config = loadConfig({ ...baseEnv({ ldapUrl: 'ldap://h', redisUrl: 'redis://h', upstreamUrl: 'http://p', port: 1, paperlessToken: 'a'.repeat(40) }), GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: 'ab'.repeat(32) });
    assert.deepEqual(config.mfa.key, Buffer.alloc(32, 0xab));
    assert.equal(config.mfa.enrolment, 'link');
    assert.equal(config.mfa.enrolmentLinkTtlMs, 72 * 3_600_000);
    assert.equal(config.mfa.rememberDeviceMs, undefined, 'no device is remembered unless configured');
  });
});

describe('SecondFactors on a private redis-server', () => {
  const server = new RedisServer();
  let redis: Redis;
  let prefix = 0;
  let clock = 1_800_000_000_000;

  function factors(mode: MfaConfig['mode'] = 'required', enrolment: MfaConfig['enrolment'] = 'link', rememberDevices = false) {
    const keys = redisKeys(`u${++prefix}:`);
    const mfaKeys = new MfaKeys(KEY);
    const regulation = { enabled: true, maxFailuresPerUserAndIp: 3, maxFailuresPerIp: 50, maxFailuresPerUser: 50, windowMs: 600_000, banMs: 60_000, maxBanMs: 60_000 };
    return new SecondFactors({
      config: { mode, requiredGroups: [], enrolment, issuer: 'Test' },
      ...(rememberDevices ? { devices: new RememberedDevices(mfaKeys, 30 * 86_400_000) } : {}),
      store: new FactorStore(redis, keys, mfaKeys.seal),
      links: new EnrolmentLinks(redis, keys, mfaKeys, 60_000),
      keys: mfaKeys,
      passkeys: new PasskeyCeremonies(redis, keys, { rpId: 'localhost', origin: 'http://localhost', rpName: 'Test' }),
      regulation: new Regulation(redis, keys.secondFactorRegulation, regulation),
      metrics: new Metrics(),
      now: () => clock,
      log: pino({ level: 'silent' }),
    });
  }

  async function enrolled(f: SecondFactors, username: string): Promise<{ secret: string; codes: string[] }> {
    const started = await f.beginTotp(username, 'sid');
    const codes = await f.confirmTotp(username, f.enrolmentSecret(username, 'sid', started.sealed), totp(started.secret, 0, clock), '10.0.0.1', { replace: false });
    return { secret: started.secret, codes };
  }

  before(async () => {
    await server.start();
    redis = new Redis(server.url);
  });
  after(async () => {
    redis.disconnect();
    await server.destroy();
  });

  it('two requests racing with the same TOTP code: exactly one wins', async () => {
    const f = factors();
    const { secret } = await enrolled(f, 'alice');
    clock += 30_000;
    const code = totp(secret, 0, clock);
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => f.verify('alice', code, '10.0.0.2')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of results.filter((r) => r.status === 'rejected')) assert.ok((r as PromiseRejectedResult).reason instanceof SecondFactorInvalidError);
  });

  it('two requests racing with the same recovery code: exactly one wins', async () => {
    const f = factors();
    const { codes } = await enrolled(f, 'bob');
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => f.verify('bob', codes[3] as string, '10.0.0.2')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal((await f.status(user('bob'))).recoveryCodesLeft, 9);
  });

  it('the store holds no secret in the clear', async () => {
    const f = factors();
    const { secret, codes } = await enrolled(f, 'carol');
    const keys = await redis.keys(`u${prefix}:mfa:factors:*`);
    const raw = await redis.get(keys[0] as string);
    assert.ok(raw?.startsWith('v1.'));
    assert.ok(!raw?.includes(secret));
    for (const c of codes) assert.ok(!raw?.includes(c.replace(/-/g, '')));
  });

  it('next step: required without a factor is refused unless a link or a first sign-in allows it', async () => {
    const f = factors('required', 'first-login');
    await assert.rejects(f.nextStep(user('dave'), { firstSignIn: async () => false }), EnrolmentNotAllowedError);
    assert.deepEqual(await f.nextStep(user('dave'), { firstSignIn: async () => true }), { step: 'enrol' });
    const linked = factors('required', 'link');
    let asked = false;
    await assert.rejects(linked.nextStep(user('dave'), { firstSignIn: async () => ((asked = true), true) }), EnrolmentNotAllowedError);
    assert.equal(asked, false, 'with enrolment by link only, a first sign-in does not count');
    const { secret } = await enrolled(f, 'erin');
    assert.ok(secret);
    assert.deepEqual(await f.nextStep(user('erin'), { firstSignIn: async () => true }), { step: 'verify' });
  });

  it('apps: refused for whoever must use or has a factor; allowed for an optional person without one', async () => {
    const required = factors('required');
    await assert.rejects(required.requirePasswordOnly(user('frank')), SecondFactorRequiredError);
    const optional = factors('optional');
    await optional.requirePasswordOnly(user('frank'));
    await enrolled(optional, 'frank');
    await assert.rejects(optional.requirePasswordOnly(user('frank')), SecondFactorRequiredError);
    await factors('off').requirePasswordOnly(user('frank'));
  });

  it('an enrolment sealed for one session or person does not confirm in another, nor after 15 minutes', async () => {
    const f = factors();
    const started = await f.beginTotp('grace', 'sid-1');
    assert.throws(() => f.enrolmentSecret('grace', 'sid-2', started.sealed), EnrolmentExpiredError);
    assert.throws(() => f.enrolmentSecret('heidi', 'sid-1', started.sealed), EnrolmentExpiredError);
    assert.equal(f.enrolmentSecret('grace', 'sid-1', started.sealed), started.secret);
    clock += 15 * 60_000 + 1;
    assert.throws(() => f.enrolmentSecret('grace', 'sid-1', started.sealed), EnrolmentExpiredError);
  });

  /** The step after the password on a browser holding `cookie`. */
  const stepWith = (f: SecondFactors, username: string, cookie: string | undefined) => f.nextStep(user(username), { deviceCookie: cookie, firstSignIn: async () => false });

  it('a device remembered before the authenticator app was replaced asks for the second factor again', async () => {
    const f = factors('required', 'link', true);
    await enrolled(f, 'ivan');
    const cookie = await f.rememberDevice('ivan');
    assert.deepEqual(await stepWith(f, 'ivan', cookie), { step: 'done', remembered: true }, 'remembered until the app changes');
    clock += 30_000;
    const started = await f.beginTotp('ivan', 'sid');
    await f.confirmTotp('ivan', f.enrolmentSecret('ivan', 'sid', started.sealed), totp(started.secret, 0, clock), '10.0.0.1', { replace: true });
    assert.deepEqual(await stepWith(f, 'ivan', cookie), { step: 'verify' }, 'the replaced app took the device trust with it');
    const fresh = await f.rememberDevice('ivan');
    assert.deepEqual(await stepWith(f, 'ivan', fresh), { step: 'done', remembered: true }, 'a device remembered with the new app is remembered');
  });

  it('a device remembered before a factor was removed and another added asks again', async () => {
    const f = factors('optional', 'link', true);
    await enrolled(f, 'judy');
    const cookie = await f.rememberDevice('judy');
    await f.removeTotp(user('judy'));
    clock += 30_000;
    await enrolled(f, 'judy');
    assert.deepEqual(await stepWith(f, 'judy', cookie), { step: 'verify' });
  });
});

describe('passkeys: where browsers make them (web/webauthn-form.ts)', () => {
  it('only at a host name, over https or on localhost', () => {
    const at = (url: string) => passkeysWorkAt(new URL(url));
    assert.equal(at('https://paperless.example.com'), true);
    assert.equal(at('http://localhost:8000'), true);
    assert.equal(at('http://paperless.localhost'), true);
    assert.equal(at('http://paperless.example.com'), false, 'plain http at a name: no secure context');
    assert.equal(at('http://127.0.0.1:8000'), false);
    assert.equal(at('https://192.168.1.5'), false, 'an IP address, even over https');
    assert.equal(at('https://[::1]:8443'), false);
  });
});

describe('passkeys: an answer verified as WebAuthn says (mfa/passkeys.ts)', () => {
  const config = { rpId: 'paperless.example', origin: 'https://paperless.example', rpName: 'Test' };
  // A software authenticator: a P-256 key, its COSE public key, and assertions signed with chosen flags.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from([0x22, 0x58, 0x20]), Buffer.from(jwk.y ?? '', 'base64url')]);
  const id = Buffer.from('security-key').toString('base64url');
  const record: FactorRecord = { recoveryCodes: [], generation: 'g1', passkeys: [{ id, publicKey: cose.toString('base64url'), counter: 0, name: 'Security key', createdAt: 0 }] };
  const FLAG_PRESENT = 0x01;
  const FLAG_VERIFIED = 0x04;
  let counter = 0;
  function answer(challenge: string, flags: number): AuthenticationResponseJSON {
    counter += 1;
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: config.origin, crossOrigin: false }));
    const authData = Buffer.concat([createHash('sha256').update(config.rpId).digest(), Buffer.from([flags]), Buffer.from([0, 0, 0, counter])]);
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), privateKey);
    return { id, rawId: id, type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON: clientData.toString('base64url'), authenticatorData: authData.toString('base64url'), signature: signature.toString('base64url') } };
  }
  const redisServer = new RedisServer();
  let redis: Redis;
  let passkeys: PasskeyCeremonies;
  before(async () => {
    await redisServer.start();
    redis = new Redis(redisServer.url);
    passkeys = new PasskeyCeremonies(redis, redisKeys('t:'), config);
  });
  after(async () => {
    redis?.disconnect();
    await redisServer.stop();
  });

  it('at sign-in a touch will do; the step-up needs the person verified (PIN or biometric), and asks for it', async () => {
    const signIn = await passkeys.authenticationOptions('s1', record);
    assert.equal(signIn.userVerification, 'preferred');
    assert.ok(await passkeys.authenticate('s1', answer(signIn.challenge, FLAG_PRESENT), record), 'beside the password, presence is enough');

    const stepUp = await passkeys.authenticationOptions('s1', record, 'step-up');
    assert.equal(stepUp.userVerification, 'required');
    assert.equal(await passkeys.authenticate('s1', answer(stepUp.challenge, FLAG_PRESENT), record, 'step-up'), undefined, 'a key left plugged in, touched by anyone');
    const again = await passkeys.authenticationOptions('s1', record, 'step-up');
    assert.ok(await passkeys.authenticate('s1', answer(again.challenge, FLAG_PRESENT | FLAG_VERIFIED), record, 'step-up'));
  });

  it("a challenge of one purpose is never spent by the other's answer", async () => {
    const signIn = await passkeys.authenticationOptions('s2', record);
    assert.equal(await passkeys.authenticate('s2', answer(signIn.challenge, FLAG_PRESENT | FLAG_VERIFIED), record, 'step-up'), undefined);
    const stepUp = await passkeys.authenticationOptions('s2', record, 'step-up');
    assert.equal(await passkeys.authenticate('s2', answer(stepUp.challenge, FLAG_PRESENT | FLAG_VERIFIED), record), undefined);
  });
});
