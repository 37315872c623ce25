import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { userDn } from '../support/directory-data.js';
import { Browser } from '../support/http-client.js';
import { startStack, type Stack } from '../support/stack.js';
import { pollUntil } from '../support/poll.js';
import { Redis } from 'ioredis';
import { redisKeys } from '../../src/redis/keys.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const message = (body: string) => /role="alert">([^<]+)</.exec(body)?.[1];

/**
 * A username+address ban is its counter's key in Redis, blocked for GATEWAY_REGULATION_BAN (2 s here):
 * it must live exactly that long, and is made to run out now instead of in 2 s.
 */
async function liftUserIpBan(stack: Stack, username: string, ip: string): Promise<void> {
  const redis = new Redis(stack.redis.url);
  try {
    const key = `${redisKeys('gateway:').regulationCounter('user-ip')}:${username}|${ip}`;
    const ttl = await redis.pttl(key);
    assert.ok(ttl > 0 && ttl <= 2000, `the ban lasts GATEWAY_REGULATION_BAN (${ttl} ms left on ${key})`);
    await redis.pexpire(key, 1);
    await pollUntil(async () => (await redis.exists(key)) === 0, `${key} did not expire`);
  } finally {
    redis.disconnect();
  }
}

/** Browsers "from" an address: the gateway trusts X-Forwarded-For from loopback here, as behind a proxy. */
function from(stack: Stack, ip: string) {
  const b = stack.browser();
  const xff: [string, string] = ['X-Forwarded-For', ip];
  return {
    login: async (username: string, password: string) => {
      const page = await b.get('/accounts/login/', { headers: [xff] });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      return b.post('/accounts/login/', { username, password, _csrf: csrf, next: '' }, { headers: [xff] });
    },
    token: (username: string, password: string) => new Browser(stack.gateway.url).post('/api/token/', { username, password }, { headers: [xff] }),
    basic: (username: string, password: string) =>
      new Browser(stack.gateway.url).get('/api/documents/', { headers: [xff, ['Authorization', `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`]] }),
  };
}

describe('regulation: failed sign-ins counted in Redis', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      env: {
        GATEWAY_TRUST_PROXY: 'loopback',
        GATEWAY_REGULATION_MAX_FAILURES_USER_IP: '3',
        GATEWAY_REGULATION_MAX_FAILURES_USER: '8',
        GATEWAY_REGULATION_MAX_FAILURES_IP: '50',
        GATEWAY_REGULATION_WINDOW: '1m',
        GATEWAY_REGULATION_BAN: '2s',
        GATEWAY_REGULATION_MAX_BAN: '1h',
      },
      sim: { enableRemoteUserApi: true },
    });
  });
  after(async () => stack?.stop());

  it('bans a username+address after the limit: the same message, Retry-After, the directory never asked; then lets in again', async () => {
    const a = from(stack, '10.1.0.1');
    for (let i = 0; i < 3; i++) assert.equal((await a.login('bob', 'wrong')).status, 401);
    await stack.slapd.stop();
    let banned;
    try {
      banned = await a.login('bob', 'bob-pass');
    } finally {
      await stack.slapd.start();
    }
    assert.equal(banned.status, 401, 'a ban is answered without the directory (it is down) and without a 503');
    assert.equal(message(banned.body), 'Wrong username or password.');
    assert.ok(Number(banned.headers['retry-after']) >= 1);
    assert.equal((await from(stack, '10.1.0.2').login('bob', 'bob-pass')).status, 303, 'another address is not banned');
    const audit = stack.gateway.logs.find((l) => l.includes('"regulation.ban"') && l.includes('10.1.0.1'));
    assert.ok(audit && audit.includes('"limit":"user+ip"') && !audit.includes('bob-pass'), 'the ban is in the audit log');
    await liftUserIpBan(stack, 'bob', '10.1.0.1');
    assert.equal((await a.login('bob', 'bob-pass')).status, 303, 'back after the ban');
  });

  it('look-alike spellings (fullwidth, circled, mathematical) share the ban of the name they fold to', async () => {
    const a = from(stack, '10.6.0.1');
    // Failures typed three ways count as one person's.
    for (const spelling of ['ｂｏｂ', 'ⓑob', '𝐛ob']) assert.equal((await a.login(spelling, 'wrong')).status, 401);
    for (const spelling of ['bob', 'BOB', 'ｂｏｂ', 'ⓑob', '𝐛ob']) {
      const res = await a.login(spelling, 'bob-pass');
      assert.equal(res.status, 401, `${spelling} with the right password is banned too`);
      assert.ok(Number(res.headers['retry-after']) >= 1, spelling);
    }
    const audit = stack.gateway.logs.find((l) => l.includes('"regulation.ban"') && l.includes('10.6.0.1'));
    assert.ok(audit?.includes('"username":"bob"'), 'the ban is on bob');
    await liftUserIpBan(stack, 'bob', '10.6.0.1');
    assert.equal((await a.login('bob', 'bob-pass')).status, 303, 'back after the ban');
  });

  it('bans grow with each repeat', async () => {
    const a = from(stack, '10.2.0.1');
    for (let i = 0; i < 4; i++) await a.login('carol', 'wrong');
    const first = Number((await a.login('carol', 'wrong')).headers['retry-after']);
    await sleep(first * 1000 + 100);
    for (let i = 0; i < 4; i++) await a.login('carol', 'wrong');
    const second = Number((await a.login('carol', 'wrong')).headers['retry-after']);
    assert.ok(first <= 2 && second >= 3, `first ban ${first}s, second ${second}s`);
  });

  it('the per-user limit refuses strangers but not an address the user signed in from before', async () => {
    assert.equal((await from(stack, '10.3.0.100').login('alice', 'alice-pass')).status, 303);
    for (let i = 1; i <= 8; i++) await from(stack, `10.3.1.${i}`).login('alice', 'wrong');
    const stranger = await from(stack, '10.3.1.99').login('alice', 'alice-pass');
    assert.equal(stranger.status, 401, 'a new address is refused once the user limit is reached');
    assert.equal((await from(stack, '10.3.0.100').login('alice', 'alice-pass')).status, 303, 'alice still gets in from her usual address');
  });

  it('app sign-in and Basic auth share the same counters', async () => {
    const a = from(stack, '10.4.0.1');
    await a.login('bob', 'wrong');
    await a.token('bob', 'wrong');
    await a.basic('bob', 'wrong');
    const token = await a.token('bob', 'bob-pass');
    assert.equal(token.status, 400);
    assert.deepEqual(JSON.parse(token.body), { non_field_errors: ['Unable to log in with provided credentials.'] });
    assert.ok(Number(token.headers['retry-after']) >= 1);
    const basic = await a.basic('bob', 'bob-pass');
    assert.equal(basic.status, 401);
    assert.ok(Number(basic.headers['retry-after']) >= 1);
  });

  it('a client cannot pick its own address when the proxy is not trusted', async () => {
    const direct = await startStack({ env: { GATEWAY_REGULATION_MAX_FAILURES_USER_IP: '2', GATEWAY_REGULATION_BAN: '1m' } });
    try {
      for (let i = 0; i < 2; i++) await from(direct, `10.5.0.${i}`).login('bob', 'wrong');
      assert.equal((await from(direct, '10.5.0.77').login('bob', 'bob-pass')).status, 401, 'X-Forwarded-For ignored: all came from 127.0.0.1');
    } finally {
      await direct.stop();
    }
  });
});

describe('attack: a burst of concurrent wrong passwords', () => {
  const LIMIT = 5;
  let stack: Stack;
  before(async () => {
    stack = await startStack({
      slapd: { stats: true },
      env: {
        GATEWAY_TRUST_PROXY: 'loopback',
        GATEWAY_REGULATION_MAX_FAILURES_USER_IP: String(LIMIT),
        GATEWAY_REGULATION_MAX_FAILURES_USER: '1000',
        GATEWAY_REGULATION_MAX_FAILURES_IP: '1000',
        GATEWAY_REGULATION_WINDOW: '1h',
        GATEWAY_REGULATION_BAN: '1h',
      },
    });
  });
  after(async () => stack?.stop());

  /** 100 wrong passwords for one name from one address, all at once, by the app's sign-in (no CSRF step). */
  async function burst(ip: string, username: string) {
    const a = from(stack, ip);
    return Promise.all(Array.from({ length: 100 }, (_, i) => a.token(username, `wrong-${i}`)));
  }

  it("reaches the directory's bind at most the limit's number of times", async () => {
    const answers = await burst('10.9.0.1', 'bob');
    assert.ok(stack.slapd.binds(userDn('bob')) <= LIMIT, `${stack.slapd.binds(userDn('bob'))} binds as bob reached slapd; the limit is ${LIMIT}`);
    assert.ok(answers.every((r) => r.status === 400 && r.body === '{"non_field_errors":["Unable to log in with provided credentials."]}'), 'every answer is the one refusal');
    assert.equal(answers.filter((r) => r.headers['retry-after'] === undefined).length, LIMIT, 'exactly the limit went through; the rest were banned');
  });

  it('a name that resolves to nobody is answered exactly as a person is', async () => {
    const answers = await burst('10.9.0.2', 'nobody-here');
    assert.ok(answers.every((r) => r.status === 400 && r.body === '{"non_field_errors":["Unable to log in with provided credentials."]}'));
    assert.equal(answers.filter((r) => r.headers['retry-after'] === undefined).length, LIMIT, 'as many refusals without Retry-After as for bob');
    const banned = await from(stack, '10.9.0.2').token('nobody-here', 'anything');
    assert.ok(Number(banned.headers['retry-after']) > 3000, 'then banned like a person');
  });
});
