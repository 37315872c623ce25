/**
 * Changing one's own directory password, against the real directories: slapd with the ppolicy
 * overlay (RFC 3062 Password Modify and the password policy control) and Samba AD (unicodePwd
 * over LDAPS), each refusal in words a person understands; then the account page end to end.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { PasswordChange } from '../src/auth/password-change.js';
import type { Reservation } from '../src/auth/regulation.js';
import { loadConfig } from '../src/config/load.js';
import { Metrics } from '../src/ops/metrics.js';
import { InvalidCredentialsError, PasswordChangeNeedsTlsError, PasswordChangeRequiredError, PasswordRejectedError, type PasswordProblem } from '../src/directory/errors.js';
import { LdapDirectory } from '../src/directory/ldap-directory.js';
import { BASE_DN, userDn } from './support/directory-data.js';
import { baseEnv, freePort, GatewayProcess } from './support/gateway.js';
import { Browser } from './support/http-client.js';
import { pollUntil } from './support/poll.js';
import { AD, SambaDc } from './support/samba.js';
import { Slapd } from './support/slapd.js';
import { PPOLICY_LDIF } from './support/ppolicy.js';
import { startStack, type Stack } from './support/stack.js';
import { fieldsOn } from './support/totp.js';
import { Redis } from 'ioredis';
import { redisKeys } from '../src/redis/keys.js';

const env = (url: string, extra: Record<string, string> = {}) => loadConfig({ ...baseEnv({ ldapUrl: url, redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 }), ...extra }).ldap;

async function refusedWith(promise: Promise<unknown>, problem: PasswordProblem): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof PasswordRejectedError && err.problem === problem, problem);
}

describe('password change on OpenLDAP with ppolicy', () => {
  const slapd = new Slapd({ ppolicy: true });
  let d: LdapDirectory;
  before(async () => {
    await slapd.start();
    await slapd.seed();
    await slapd.ldapadd(PPOLICY_LDIF);
    // Under the young policy first, then a password set now: the overlay stamps pwdChangedTime (and,
    // that policy having no pwdMustChange, no pwdReset, which would allow any change).
    await slapd.ldapadd(`dn: ${userDn('carol')}\nchangetype: modify\nadd: pwdPolicySubentry\npwdPolicySubentry: cn=young,ou=policies,${BASE_DN}\n`, true);
    await slapd.ldapadd(`dn: ${userDn('carol')}\nchangetype: modify\nreplace: userPassword\nuserPassword: carol-pass\n`, true);
    d = new LdapDirectory(env(slapd.url));
  });
  after(() => slapd.destroy());

  it('says why the directory refuses a new password: too short, unchanged, used before, too soon', async () => {
    await refusedWith(d.changePassword('bob', 'bob-pass', 'short'), 'too-short');
    await refusedWith(d.changePassword('bob', 'bob-pass', 'bob-pass'), 'same');
    await d.changePassword('bob', 'bob-pass', 'Bob-Second-1');
    await d.authenticate('bob', 'Bob-Second-1');
    await assert.rejects(d.authenticate('bob', 'bob-pass'), InvalidCredentialsError, 'the old one is gone');
    await refusedWith(d.changePassword('bob', 'Bob-Second-1', 'bob-pass'), 'in-history');
    await refusedWith(d.changePassword('carol', 'carol-pass', 'Carol-Second-1'), 'too-young');
  });

  it('a wrong current password is a wrong password', async () => {
    await assert.rejects(d.changePassword('alice', 'not-hers', 'Alice-Second-1'), InvalidCredentialsError);
    await assert.rejects(d.changePassword('nobody', 'x', 'Nobody-Second-1'), InvalidCredentialsError);
  });
});

describe('password change on Active Directory (Samba AD DC)', () => {
  const dc = new SambaDc();
  const ad = (url: string) =>
    new LdapDirectory(
      env(url, {
        GATEWAY_LDAP_PRESET: 'activedirectory',
        GATEWAY_LDAP_URL: url,
        GATEWAY_LDAP_BIND_DN: AD.serviceDn,
        GATEWAY_LDAP_BIND_PASSWORD: AD.servicePassword,
        GATEWAY_LDAP_USER_BASE: AD.users,
        GATEWAY_LDAP_GROUP_BASE: '',
        GATEWAY_LDAP_CA_FILE: dc.caFile,
        GATEWAY_LDAP_TLS_SERVER_NAME: 'dc1.example.test',
      }),
    );
  before(async () => dc.start());
  after(() => dc.destroy());

  it('refuses to send a password over plain LDAP, and says why', async () => {
    await assert.rejects(ad(dc.url).changePassword('alice', 'Al1ce!Pass', 'N3w!Password'), PasswordChangeNeedsTlsError);
  });

  it('over LDAPS: too short, not complex, used before, too soon, wrong current; then a good one signs in', async () => {
    const d = ad(dc.ldapsUrl);
    await refusedWith(d.changePassword('alice', 'Al1ce!Pass', 'Sh0!'), 'too-short');
    await refusedWith(d.changePassword('alice', 'Al1ce!Pass', 'alllowercaseletters'), 'quality');
    await assert.rejects(d.changePassword('alice', 'wrong', 'N3w!Password'), InvalidCredentialsError);
    await d.changePassword('alice', 'Al1ce!Pass', 'N3w!Password');
    assert.equal((await d.authenticate('alice', 'N3w!Password')).username, 'alice');
    await refusedWith(d.changePassword('alice', 'N3w!Password', 'Al1ce!Pass'), 'in-history');
    await refusedWith(d.changePassword('heidi', 'He1di!Young', 'He1di!Older'), 'too-young');
  });

  it('"must change at next logon": the change goes through with the old password, then the new one signs in', async () => {
    const d = ad(dc.ldapsUrl);
    await d.changePassword('erin', 'Er1n!Change', 'Er1n!Changed2');
    assert.equal((await d.authenticate('erin', 'Er1n!Changed2')).username, 'erin');
  });

  it('an expired password (532) is told apart from a wrong one, and changes like a must-change one', async () => {
    const d = ad(dc.ldapsUrl);
    await assert.rejects(d.authenticate('judy', 'Jud1!Expired'), (err: unknown) => err instanceof PasswordChangeRequiredError && err.reason === 'expired');
    // AD says 532 only to whoever knows the password: a guess stays a plain refusal.
    await assert.rejects(d.authenticate('judy', 'Jud1!Guessed'), InvalidCredentialsError);
    await assert.rejects(d.changePassword('judy', 'Jud1!Guessed', 'Jud1!Renewed'), InvalidCredentialsError);
    await d.changePassword('judy', 'Jud1!Expired', 'Jud1!Renewed');
    assert.equal((await d.authenticate('judy', 'Jud1!Renewed')).username, 'judy');
  });
});

describe('a password change the directory made is never reported as refused', () => {
  it("regulation's bookkeeping failing after the change: the change stands, and the old password is forgotten everywhere", async () => {
    const announced: string[] = [];
    const metrics = new Metrics();
    const change = new PasswordChange({
      directory: { changePassword: async () => undefined },
      regulation: {
        reserve: async (username: string, ip: string): Promise<Reservation> => ({ username, ip, taken: [] }),
        release: async () => {
          throw new Error('Redis went away');
        },
        confirm: async () => [],
        succeeded: async () => {
          throw new Error('Redis went away');
        },
      },
      metrics,
      changed: async (username) => void announced.push(username),
      log: pino({ level: 'silent' }),
    });
    await change.change('bob', 'bob-pass', 'Bob-Changed-1', '192.0.2.1', 'account');
    assert.deepEqual(announced, ['bob']);
    assert.match(await metrics.registry.metrics(), /gateway_password_changes_total\{outcome="changed",where="account"\} 1/);
  });
});

describe('the account page changes the password', () => {
  let stack: Stack;
  let replica: GatewayProcess;
  before(async () => {
    stack = await startStack({ slapd: { ppolicy: true }, env: { GATEWAY_API_BASIC_AUTH_CACHE_TTL: '1h' }, sim: { enableRemoteUserApi: true } });
    await stack.slapd.ldapadd(PPOLICY_LDIF);
    // A second replica on the same Redis, as behind a load balancer: it caches Basic checks of its own.
    replica = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(await freePort()) });
    await replica.start();
  });
  after(async () => {
    await replica?.stop();
    await stack?.stop();
  });

  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('with the current password; the directory refusal in words; other sessions and the cached Basic check end', async () => {
    const b = stack.browser();
    const phone = stack.browser();
    assert.equal((await b.login('bob', 'bob-pass')).status, 303);
    assert.equal((await phone.login('bob', 'bob-pass')).status, 303);
    const script = () => stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('bob', 'bob-pass')]] });
    // The same person typed otherwise, on the other replica: a cache entry of its own there.
    const otherScript = () => new Browser(replica.url).request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('BOB', 'bob-pass')]] });
    assert.equal((await script()).status, 200, 'Basic with the old password, cached for an hour');
    assert.equal((await otherScript()).status, 200, 'on the other replica too');
    const page = await b.get('/accounts/security/password/');
    assert.match(page.body, /id="password-form"/);
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const alert = (r: { body: string }) => /role="alert">([^<]+)</.exec(r.body)?.[1];

    const mismatch = await b.post('/accounts/security/password', { _csrf, current: 'bob-pass', new_password: 'Bob-Changed-1', new_password2: 'Bob-Changed-2' });
    assert.equal(mismatch.status, 400);
    assert.equal(alert(mismatch), 'The two new passwords do not match.');
    const short = await b.post('/accounts/security/password', { _csrf, current: 'bob-pass', new_password: 'short', new_password2: 'short' });
    assert.equal(short.status, 400);
    assert.equal(alert(short), 'The new password is too short.');
    const wrong = await b.post('/accounts/security/password', { _csrf, current: 'nope', new_password: 'Bob-Changed-1', new_password2: 'Bob-Changed-1' });
    assert.equal(wrong.status, 401);
    const forged = await b.post('/accounts/security/password', { _csrf: 'x', current: 'bob-pass', new_password: 'Bob-Changed-1', new_password2: 'Bob-Changed-1' });
    assert.equal(forged.status, 403);

    const done = await b.post('/accounts/security/password', { _csrf, current: 'bob-pass', new_password: 'Bob-Changed-1', new_password2: 'Bob-Changed-1' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/accounts/security/password/?done=password-changed-others');
    assert.equal((await phone.get('/documents/')).status, 302, 'the other session is signed out');
    assert.equal((await b.get('/documents/')).status, 200, 'this one stays');
    assert.equal((await script()).status, 401, 'the cached Basic check of the old password is gone');
    assert.equal((await stack.browser().login('bob', 'Bob-Changed-1')).status, 303);
    // The other replica hears it on Redis; the only wait is the message's way there.
    await pollUntil(async () => (await otherScript()).status === 401, "the other replica still takes the old password (typed 'BOB')");
    assert.match(stack.gateway.logs.join('\n'), /"event":"password.changed","username":"bob"/);
  });

  it("changes only the signed-in person's password, whatever the form says", async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    const page = await b.get('/accounts/security/password/');
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const res = await b.post('/accounts/security/password', { _csrf, username: 'carol', user: 'carol', dn: userDn('carol'), current: 'carol-pass', new_password: 'Carol-Owned-1', new_password2: 'Carol-Owned-1' });
    assert.equal(res.status, 401, "carol's password is not alice's current password");
    assert.equal((await stack.browser().login('carol', 'carol-pass')).status, 303, "carol's password is unchanged");
  });

  it('a Basic check of the old password still running when the password changes is not remembered after it', async () => {
    const b = stack.browser();
    assert.equal((await b.login('carol', 'carol-pass')).status, 303);
    const page = await b.get('/accounts/security/password/');
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    // Unchanged people cost provisioning no Paperless call; without its record, carol's next check asks a Paperless that is slow now.
    const redis = new Redis(stack.redis.url);
    try {
      await redis.del(redisKeys('gateway:').provisioning('state:carol'));
    } finally {
      redis.disconnect();
    }
    stack.sim.faults.delayMs = 2000;
    try {
      const basicCarol = (password: string) => stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', basic('CAROL', password)]] });
      const inFlight = basicCarol('carol-pass');
      await new Promise((r) => setTimeout(r, 500));
      const done = await b.post('/accounts/security/password', { _csrf, current: 'carol-pass', new_password: 'Carol-Changed-1', new_password2: 'Carol-Changed-1' });
      assert.equal(done.status, 303);
      await inFlight;
      stack.sim.faults.delayMs = 0;
      assert.equal((await basicCarol('carol-pass')).status, 401, 'the check that began before the change was cached after it');
    } finally {
      stack.sim.faults.delayMs = 0;
    }
  });
});

describe('Basic checks after the password-change channel was down', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_API_BASIC_AUTH_CACHE_TTL: '1h' }, sim: { enableRemoteUserApi: true } });
  });
  after(async () => stack?.stop());

  it('a replica whose Redis went away forgets every cached Basic check when it is back: what was announced meanwhile is lost', async () => {
    const basicAlice = (password: string) => stack.browser().request('GET', '/api/ui_settings/', { headers: [['Authorization', `Basic ${Buffer.from(`alice:${password}`).toString('base64')}`]] });
    assert.equal((await basicAlice('alice-pass')).status, 200, 'checked, and cached for an hour');
    // While Redis is away, the password changes (here in the directory: an announcement would have been lost the same way).
    await stack.redis.stop();
    await stack.slapd.ldapadd(`dn: ${userDn('alice')}\nchangetype: modify\nreplace: userPassword\nuserPassword: alice-new\n`, true);
    await stack.redis.start();
    await pollUntil(async () => (await basicAlice('alice-pass')).status === 401, 'the old password still works from the cache after Redis came back', 150, 100);
    assert.equal((await basicAlice('alice-new')).status, 200);
  });
});

/** A policy whose passwords last a minute, with grace sign-ins (or none) after expiry. */
const EXPIRING_LDIF = (name: string, grace: number) => `dn: cn=${name},ou=policies,${BASE_DN}
objectClass: device
objectClass: pwdPolicy
cn: ${name}
pwdAttribute: userPassword
pwdMaxAge: 60
pwdAllowUserChange: TRUE
${grace > 0 ? `pwdGraceAuthNLimit: ${grace}\n` : ''}`;

/** Passwords last five days; ppolicy warns during the last thirty (that is, always). */
const WARNED_LDIF = `dn: cn=warned,ou=policies,${BASE_DN}
objectClass: device
objectClass: pwdPolicy
cn: warned
pwdAttribute: userPassword
pwdMaxAge: 432000
pwdExpireWarning: 2592000
pwdAllowUserChange: TRUE
`;

const person = (uid: string, password: string, policy?: string) => `dn: ${userDn(uid)}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${uid}
sn: ${uid}
userPassword: ${password}
${policy ? `pwdPolicySubentry: cn=${policy},ou=policies,${BASE_DN}\n` : ''}`;

describe('a password the directory wants changed, at sign-in (OpenLDAP ppolicy)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ slapd: { ppolicy: true } });
    await stack.slapd.ldapadd(`${PPOLICY_LDIF}\n${EXPIRING_LDIF('expiring', 3)}\n${EXPIRING_LDIF('expired-hard', 0)}\n${WARNED_LDIF}\n${person('dave', 'dave-pass')}\n${person('erin', 'erin-pass', 'expiring')}\n${person('frank', 'frank-pass', 'expired-hard')}\n${person('gina', 'gina-pass', 'warned')}`);
    // An admin reset (pwdMustChange in the default policy) and two passwords changed long ago.
    await stack.slapd.ldapadd(`dn: ${userDn('dave')}\nchangetype: modify\nreplace: userPassword\nuserPassword: dave-reset\n`, true);
    for (const uid of ['erin', 'frank']) await stack.slapd.ldapadd(`dn: ${userDn(uid)}\nchangetype: modify\nreplace: pwdChangedTime\npwdChangedTime: 20200101000000Z\n`, true, ['-e', 'relax']);
  });
  after(async () => stack?.stop());

  async function changeForm(b: ReturnType<Stack['browser']>, username: string, password: string) {
    const res = await b.login(username, password, '/documents/');
    assert.equal(res.status, 303, /role="alert">([^<]+)</.exec(res.body)?.[1]);
    assert.equal(res.headers.location, '/accounts/login/password/');
    // Only the password is done: Paperless stays out of reach.
    assert.equal((await b.get('/documents/')).status, 302);
    const page = await b.get('/accounts/login/password/');
    assert.equal(page.status, 200);
    return page;
  }

  it('after an admin reset: the new password is chosen at once, then Paperless', async () => {
    const b = stack.browser();
    const page = await changeForm(b, 'dave', 'dave-reset');
    assert.match(page.body, /asks for a new password/);
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const short = await b.post('/accounts/login/password/', { _csrf, new_password: 'short', new_password2: 'short' });
    assert.equal(short.status, 400);
    assert.match(short.body, /The new password is too short/);
    const done = await b.post('/accounts/login/password/', { _csrf, new_password: 'Dave-Chosen-1', new_password2: 'Dave-Chosen-1', username: 'alice' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.location, '/documents/');
    assert.match((await b.get('/documents/')).body, /id="user">dave</);
    assert.equal((await stack.browser().login('dave', 'Dave-Chosen-1')).status, 303);
    assert.equal((await stack.browser().login('alice', 'alice-pass')).status, 303, "a username field in the form changed nobody else's password");
  });

  it('an expired password with grace sign-ins left: told how many, changed, signed in', async () => {
    const b = stack.browser();
    const page = await changeForm(b, 'erin', 'erin-pass');
    assert.match(page.body, /Your password has expired/);
    assert.match(page.body, /Sign-ins left with the old password: <strong>\d<\/strong>/);
    const res = await b.post('/accounts/login/password/', { ...fieldsOn(page.body, ['_csrf']), new_password: 'Erin-Chosen-1', new_password2: 'Erin-Chosen-1' });
    assert.equal(res.status, 303);
    assert.match((await b.get('/documents/')).body, /id="user">erin</);
  });

  it('an expired password without grace: a clear dead end, never a session', async () => {
    const res = await stack.browser().login('frank', 'frank-pass');
    assert.equal(res.status, 403);
    assert.match(res.body, /Your password has expired and can no longer be changed with it/);
  });

  it('a password that expires within the warning: a notice after sign-in, with a way to change it and a way on', async () => {
    const b = stack.browser();
    const res = await b.login('gina', 'gina-pass', '/documents/');
    assert.equal(res.status, 303);
    const target = new URL(res.headers.location as string, stack.gateway.url);
    assert.equal(target.pathname, '/accounts/security/password-expiring');
    assert.equal(target.searchParams.get('next'), '/documents/');
    const page = await b.get(`${target.pathname}${target.search}`);
    assert.equal(page.status, 200);
    assert.match(page.body, /Days until your password expires: <strong>[45]<\/strong>/);
    assert.match(page.body, /href="\/accounts\/security\/password\/">Change it now/);
    assert.match(page.body, /href="\/documents\/" id="continue"/);
    assert.match((await b.get('/documents/')).body, /id="user">gina</, 'already signed in: the notice blocks nothing');
    const forged = await b.get('/accounts/security/password-expiring?at=1&next=https://evil.example/');
    assert.match(forged.body, /href="\/" id="continue"/, 'next stays on this site');
    assert.equal((await stack.browser().login('bob', 'bob-pass', '/documents/')).headers.location, '/documents/', 'no notice for a password far from expiry');
  });

  it('sessions signed in with the old password end when the new one is chosen at sign-in', async () => {
    const before = stack.browser();
    assert.equal((await before.login('bob', 'bob-pass')).status, 303);
    await stack.slapd.ldapadd(`dn: ${userDn('bob')}\nchangetype: modify\nreplace: userPassword\nuserPassword: bob-reset\n`, true);
    const b = stack.browser();
    const page = await changeForm(b, 'bob', 'bob-reset');
    assert.equal((await b.post('/accounts/login/password/', { ...fieldsOn(page.body, ['_csrf']), new_password: 'Bob-Chosen-1', new_password2: 'Bob-Chosen-1' })).status, 303);
    assert.equal((await before.get('/documents/')).status, 302, 'the old session is signed out');
    assert.equal((await b.get('/documents/')).status, 200);
  });

  it('the change form needs the half-done sign-in of this browser, and its CSRF token', async () => {
    assert.equal((await stack.browser().get('/accounts/login/password/')).headers.location, '/accounts/login/?restart=1');
    await stack.slapd.ldapadd(`dn: ${userDn('dave')}\nchangetype: modify\nreplace: userPassword\nuserPassword: dave-reset2\n`, true);
    const b = stack.browser();
    await changeForm(b, 'dave', 'dave-reset2');
    const forged = await b.post('/accounts/login/password/', { _csrf: 'x', new_password: 'Dave-Forged-1', new_password2: 'Dave-Forged-1' });
    assert.equal(forged.status, 403);
  });
});

describe('"must change at next logon" at sign-in (Samba AD over LDAPS)', () => {
  const dc = new SambaDc();
  let stack: Stack;
  before(async () => {
    await dc.start();
    stack = await startStack({
      env: {
        GATEWAY_LDAP_PRESET: 'activedirectory',
        GATEWAY_LDAP_URL: dc.ldapsUrl,
        GATEWAY_LDAP_CA_FILE: dc.caFile,
        GATEWAY_LDAP_TLS_SERVER_NAME: 'dc1.example.test',
        GATEWAY_LDAP_BIND_DN: AD.serviceDn,
        GATEWAY_LDAP_BIND_PASSWORD: AD.servicePassword,
        GATEWAY_LDAP_USER_BASE: AD.users,
        GATEWAY_LDAP_GROUP_BASE: '',
      },
    });
  });
  after(async () => {
    await stack?.stop();
    await dc.destroy();
  });

  it('erin proves her password once, chooses a new one that meets the policy, and is signed in', async () => {
    const b = stack.browser();
    const res = await b.login('erin', 'Er1n!Change', '/documents/');
    assert.equal(res.headers.location, '/accounts/login/password/');
    const page = await b.get('/accounts/login/password/');
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const weak = await b.post('/accounts/login/password/', { _csrf, new_password: 'weakweakweak', new_password2: 'weakweakweak' });
    assert.equal(weak.status, 400);
    assert.match(weak.body, /complexity rules/);
    const done = await b.post('/accounts/login/password/', { _csrf, new_password: 'Er1n!Chosen2', new_password2: 'Er1n!Chosen2' });
    assert.equal(done.status, 303);
    assert.match((await b.get('/documents/')).body, /id="user">erin</);
    assert.equal((await stack.browser().login('erin', 'Er1n!Chosen2')).status, 303);
  });

  it('judy, whose password expired, is told so, changes it and is signed in; a guess never reaches the form', async () => {
    const guess = stack.browser();
    const refused = await guess.login('judy', 'Jud1!Guessed', '/documents/');
    assert.equal(refused.status, 401);
    assert.equal((await guess.get('/accounts/login/password/')).status, 303, 'no change form without the password');
    const b = stack.browser();
    const res = await b.login('judy', 'Jud1!Expired', '/documents/');
    assert.equal(res.headers.location, '/accounts/login/password/');
    const page = await b.get('/accounts/login/password/');
    assert.match(page.body, /has expired/);
    const { _csrf } = fieldsOn(page.body, ['_csrf']);
    const same = await b.post('/accounts/login/password/', { _csrf, new_password: 'Jud1!Expired', new_password2: 'Jud1!Expired' });
    assert.equal(same.status, 400, 'the expired password again is in the history');
    const done = await b.post('/accounts/login/password/', { _csrf, new_password: 'Jud1!Chosen3', new_password2: 'Jud1!Chosen3' });
    assert.equal(done.status, 303);
    assert.match((await b.get('/documents/')).body, /id="user">judy</);
  });

  it("AD's computed expiry (a ten-day fine-grained policy) brings the notice", async () => {
    const res = await stack.browser().login('ivan', 'Iv4n!Expiring', '/documents/');
    const target = new URL(res.headers.location as string, stack.gateway.url);
    assert.equal(target.pathname, '/accounts/security/password-expiring');
    const days = (Number(target.searchParams.get('at')) - Date.now()) / 86_400_000;
    assert.ok(days > 9 && days <= 10, `expires in ${days.toFixed(2)} days`);
  });
});
