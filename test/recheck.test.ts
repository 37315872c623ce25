import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { DEACTIVATIONS_PER_INTERVAL, refreshingAccountStatus } from '../src/provisioning/refreshing-account-status.js';
import { userDn } from './support/directory-data.js';
import { startStack, type Stack } from './support/stack.js';
import { openSocket } from './support/status-socket.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The re-check interval below: a session signed in at `t` is due again from `t + RECHECK_MS` on. */
const RECHECK_MS = 1000;
/**
 * Waits until the interval since `t` (a Date.now() taken after the session was last confirmed) has
 * passed: the interval is counted in the gateway's memory, which shows nothing when it runs out;
 * the gateway runs in this process, on this clock, so no margin is added.
 */
const pastInterval = (t: number) => sleep(Math.max(0, t + RECHECK_MS + 1 - Date.now()));

describe('sessions follow the directory (GATEWAY_LDAP_RECHECK_INTERVAL)', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_LDAP_RECHECK_INTERVAL: `${RECHECK_MS}ms`, GATEWAY_LDAP_ALLOWED_GROUPS: 'paperless-users', GATEWAY_LOG_LEVEL: 'debug' } });
  });
  after(async () => stack?.stop());

  const rechecks = (username: string) => stack.gateway.logs.filter((l) => l.includes('"session.recheck"') && l.includes(`"username":"${username}"`)).length;

  it('asks the directory at most once per interval, not per request', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const signedIn = Date.now();
    const before = rechecks('alice');
    for (let i = 0; i < 10; i++) assert.equal((await b.get('/documents/')).status, 200);
    assert.equal(rechecks('alice'), before, 'no recheck inside the interval');
    await pastInterval(signedIn);
    await Promise.all(Array.from({ length: 5 }, () => b.get('/documents/')));
    assert.equal(rechecks('alice'), before + 1, 'one recheck for five concurrent requests');
  });

  it('a websocket handshake rechecks like a request, and its confirmation counts for the requests after it', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const signedIn = Date.now();
    await b.get('/'); // Paperless's session, which its websocket needs
    await pastInterval(signedIn);
    const before = rechecks('alice');
    const { ws } = await openSocket(stack.gateway.url.replace('http', 'ws') + '/ws/status/', { Cookie: b.cookieHeader() });
    assert.ok(ws, 'the socket opened');
    ws.close();
    assert.equal(rechecks('alice'), before + 1, 'the handshake asked the directory');
    assert.equal((await b.get('/documents/')).status, 200);
    assert.equal(rechecks('alice'), before + 1, 'the request right after it did not ask again: the handshake confirmed the session');
  });

  it('a user removed from the allowed groups loses every session', async () => {
    const one = stack.browser();
    const two = stack.browser();
    await one.login('bob', 'bob-pass');
    await two.login('bob', 'bob-pass');
    const signedIn = Date.now();
    assert.equal((await one.get('/documents/')).status, 200);
    await stack.slapd.ldapadd(`dn: cn=paperless-users,ou=groups,dc=example,dc=com\nchangetype: modify\ndelete: member\nmember: ${userDn('bob')}\n`, true);
    await pastInterval(signedIn);
    assert.equal((await one.get('/documents/')).status, 302);
    assert.equal((await two.get('/api/documents/')).status, 401, 'the other session was revoked too');
    assert.ok(stack.gateway.logs.some((l) => l.includes('"session.revoked"') && l.includes('no longer in an allowed group')));
  });

  it('a deleted user loses their session', async () => {
    await stack.slapd.ldapadd(`dn: ${userDn('dave')}\nobjectClass: inetOrgPerson\nuid: dave\ncn: dave\nsn: dave\nuserPassword: dave-pass\n`);
    await stack.slapd.ldapadd(`dn: cn=paperless-users,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\nmember: ${userDn('dave')}\n`, true);
    const b = stack.browser();
    assert.equal((await b.login('dave', 'dave-pass')).status, 303);
    const signedIn = Date.now();
    assert.equal((await b.get('/documents/')).status, 200);
    await stack.slapd.ldapadd(`dn: ${userDn('dave')}\nchangetype: delete\n`, true);
    await pastInterval(signedIn);
    assert.equal((await b.get('/documents/')).status, 302);
  });

  it('a directory outage keeps sessions instead of signing everyone out', async () => {
    const b = stack.browser();
    await b.login('alice', 'alice-pass');
    const signedIn = Date.now();
    await stack.slapd.stop();
    try {
      await pastInterval(signedIn);
      assert.equal((await b.get('/documents/')).status, 200);
      assert.ok(stack.gateway.logs.some((l) => l.includes('"session.recheck_failed"')));
    } finally {
      await stack.slapd.start();
    }
  });
});

describe('the re-check deactivates in Paperless only a few people per interval (in-process)', () => {
  it('past the limit the rest stay active in Paperless, with an error that says why; the next interval goes on', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const deactivated: string[] = [];
    let now = 1_000_000;
    const status = refreshingAccountStatus(
      // A directory whose service account suddenly sees nobody.
      { lookup: async () => undefined },
      [],
      { provision: async () => true, deactivate: async (username: string) => { deactivated.push(username); return true; } },
      log,
      { intervalMs: 60_000, clock: { now: () => now } },
    );
    const people = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    for (const username of people) assert.equal((await status(username)).active, false, 'the verdict stands for everyone: the gateway refuses them');
    assert.deepEqual(deactivated, people.slice(0, DEACTIVATIONS_PER_INTERVAL));
    assert.equal(lines.filter((l) => l.includes('"provisioning.deactivation_held"')).length, people.length - DEACTIVATIONS_PER_INTERVAL);
    assert.match(lines[0] ?? '', /run sync --deprovision.*GATEWAY_LDAP_USER_BASE/);
    now += 60_000;
    await status('p4');
    assert.deepEqual(deactivated, [...people.slice(0, DEACTIVATIONS_PER_INTERVAL), 'p4'], 'a new interval, a new allowance');
  });

  it('only deactivations that happened use up the allowance: stale tokens of people already inactive leave room for a new leaver', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const inactive = new Set(['gone1', 'gone2', 'gone3', 'gone4']);
    const deactivated: string[] = [];
    const status = refreshingAccountStatus(
      { lookup: async () => undefined },
      [],
      {
        provision: async () => true,
        // Already inactive (or never provisioned): nothing to do. A Paperless that fails does nothing either.
        deactivate: async (username: string) => {
          if (username === 'broken') throw new Error('Paperless is down');
          if (inactive.has(username)) return false;
          deactivated.push(username);
          return true;
        },
      },
      log,
      { intervalMs: 60_000, clock: { now: () => 1_000_000 } },
    );
    for (let round = 0; round < 2; round++) for (const username of [...inactive, 'broken']) await status(username);
    await status('newleaver');
    assert.deepEqual(deactivated, ['newleaver'], 'the new leaver is deactivated in Paperless');
    assert.equal(lines.filter((l) => l.includes('"provisioning.deactivation_held"')).length, 0);
  });
});
