import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisClusterSet } from './support/redis-cluster.js';
import { SentinelSet } from './support/sentinel.js';
import { SESSION_CACHE_MS } from '../src/session/sessions.js';
import { startStack, type Stack } from './support/stack.js';

describe('Redis Sentinel', () => {
  const sentinel = new SentinelSet();
  let stack: Stack;
  before(async () => {
    await sentinel.start();
    stack = await startStack({ env: { GATEWAY_REDIS_URL: sentinel.url } });
  });
  after(async () => {
    await stack?.stop();
    await sentinel.stop();
  });

  it('a signed-in session survives a failover to the replica', async () => {
    const b = stack.browser();
    assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    assert.equal((await b.get('/documents/')).status, 200);
    // Let the replica have the session before the master dies.
    const master = new Redis(sentinel.master.url);
    assert.equal(await master.wait(1, 2000), 1, 'the replica acknowledged the writes');
    master.disconnect();
    await sentinel.master.stop();
    // Past the gateway's session cache: every answer below comes from Redis.
    await new Promise((r) => setTimeout(r, SESSION_CACHE_MS + 100));
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      status = (await b.get('/documents/')).status;
      assert.notEqual(status, 302, 'never signed out during the failover');
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(status, 200, 'the session works on the promoted replica');
    const fresh = stack.browser();
    assert.equal((await fresh.login('bob', 'bob-pass')).status, 303, 'new sign-ins work after the failover');
  });
});

describe('Redis Cluster', () => {
  const cluster = new RedisClusterSet();
  let stack: Stack;
  before(async () => {
    await cluster.start();
    stack = await startStack({ env: { GATEWAY_REDIS_URL: cluster.url, GATEWAY_LDAP_RECHECK_INTERVAL: '1s' } });
  });
  after(async () => {
    await stack?.stop();
    await cluster.stop();
  });

  it('sessions, bans, logout and revocation work across the slots of a cluster', async () => {
    const sessions = Array.from({ length: 6 }, () => stack.browser());
    for (const b of sessions) assert.equal((await b.login('alice', 'alice-pass')).status, 303);
    const signedIn = Date.now();
    for (const b of sessions) assert.equal((await b.get('/documents/')).status, 200);
    assert.equal((await sessions[0]?.get('/accounts/logout/'))?.status, 303);
    assert.equal((await sessions[0]?.get('/documents/'))?.status, 302);
    // Removing alice from the directory revokes every other session, spread over the cluster's nodes.
    await stack.slapd.ldapadd('dn: uid=alice,ou=people,dc=example,dc=com\nchangetype: delete\n', true);
    // Until the re-check interval (1 s) since the sign-ins has passed: counted in the gateway's memory (this process, this clock).
    await new Promise((r) => setTimeout(r, Math.max(0, signedIn + 1001 - Date.now())));
    assert.equal((await sessions[1]?.get('/documents/'))?.status, 302);
    for (const b of sessions.slice(2)) assert.equal((await b.get('/documents/')).status, 302);
    for (let i = 0; i < 5; i++) await stack.browser().login('bob', 'wrong');
    assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 401, 'banned: the regulation works on a cluster');
  });
});
