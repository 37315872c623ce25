/**
 * Attacks on signing in, each a named case with the outcome it must have,
 * against real slapd and Redis through the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser } from '../support/http-client.js';
import { startStack, type Stack } from '../support/stack.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

describe('attacks on sign-in', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_TRUST_PROXY: 'loopback', GATEWAY_REGULATION_MAX_FAILURES_USER_IP: '3', GATEWAY_REGULATION_MAX_FAILURES_USER: '1000' } });
  });
  after(async () => stack?.stop());

  let n = 0;
  async function attempt(username: string, password: string, ip = `10.9.${Math.floor(++n / 250)}.${n % 250}`) {
    const b = stack.browser();
    const xff: [string, string] = ['X-Forwarded-For', ip];
    const page = await b.get('/accounts/login/', { headers: [xff] });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const started = performance.now();
    const res = await b.post('/accounts/login/', { username, password, _csrf: csrf, next: '' }, { headers: [xff] });
    return { res, ms: performance.now() - started, message: /role="alert">([^<]+)</.exec(res.body)?.[1] };
  }

  it('user enumeration by message: unknown user, wrong password and a ban read the same', async () => {
    const unknown = await attempt('nobody-here', 'x');
    const wrong = await attempt('bob', 'x');
    for (let i = 0; i < 3; i++) await attempt('carol', 'x', '10.8.0.1');
    const banned = await attempt('carol', 'carol-pass', '10.8.0.1');
    assert.deepEqual([unknown.res.status, wrong.res.status, banned.res.status], [401, 401, 401]);
    assert.deepEqual([unknown.message, wrong.message, banned.message], Array(3).fill('Wrong username or password.'));
  });

  it('user enumeration by timing: unknown user, wrong password and a ban take the same time within 10 %', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await attempt('alice', 'alice-pass')).res.status, 303); // what the floor follows
    const unknown: number[] = [];
    const wrong: number[] = [];
    const banned: number[] = [];
    for (let i = 0; i < 3; i++) await attempt('carol', 'x', '10.8.0.2');
    for (let i = 0; i < 7; i++) {
      unknown.push((await attempt(`ghost${i}`, 'x')).ms);
      wrong.push((await attempt('bob', 'x')).ms);
      banned.push((await attempt('carol', 'x', '10.8.0.2')).ms);
    }
    const medians = [median(unknown), median(wrong), median(banned)];
    const spread = Math.max(...medians) / Math.min(...medians);
    assert.ok(spread <= 1.1, `medians ${medians.map((m) => m.toFixed(0)).join(' / ')} ms differ by ${((spread - 1) * 100).toFixed(1)} %`);
  });

  it('LDAP injection in the username signs nobody in', async () => {
    for (const payload of ['*', 'a*', '*)(uid=*', 'bob)(|(uid=*', 'admin*)(|(objectClass=*', 'bob\u0000', '\\2a']) {
      const { res } = await attempt(payload, 'bob-pass');
      assert.equal(res.status, 401, JSON.stringify(payload));
      assert.equal(res.setCookies.some((c) => c.startsWith('gateway_session=')), false);
    }
  });

  it('oversized credentials and bodies are refused with a reason, not a crash', async () => {
    assert.equal((await attempt('a'.repeat(300), 'x')).res.status, 400);
    const big = await stack.browser().post('/accounts/login/', { username: 'bob', password: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    const token = await new Browser(stack.gateway.url).post('/api/token/', { username: 'bob', password: 'x'.repeat(20_000) });
    assert.equal(token.status, 413);
  });

  it('login CSRF: a form posted from another site, or without the token, is refused', async () => {
    const b = stack.browser();
    const page = await b.get('/accounts/login/');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    assert.equal((await b.post('/accounts/login/', { username: 'bob', password: 'bob-pass', _csrf: csrf }, { headers: [['Origin', 'https://evil.example']] })).status, 403);
    assert.equal((await stack.browser().post('/accounts/login/', { username: 'bob', password: 'bob-pass', _csrf: csrf })).status, 403, "another browser's token");
  });

  it('open redirect through next is refused', async () => {
    for (const next of ['//evil.example', '/\\evil.example', 'https://evil.example', '/%2F%2Fevil.example', '/%5Cevil.example', '/\t/evil.example']) {
      const b = stack.browser();
      const page = await b.get('/accounts/login/');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf, next });
      assert.equal(res.headers.location, '/', next);
    }
  });
});
