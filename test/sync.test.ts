import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { groupDn, userDn } from './support/directory-data.js';
import { GatewayProcess, freePort, runCliToEnd } from './support/gateway.js';
import { mappingFile } from './support/mapping.js';
import type { RecordedRequest } from './support/paperless-sim.js';
import { startStack, type Stack } from './support/stack.js';

const EXTRA = 250;
const name = (i: number) => `user${String(i).padStart(3, '0')}`;

function extraUsersLdif(): string {
  const people = Array.from({ length: EXTRA }, (_, i) => `dn: ${userDn(name(i))}\nobjectClass: inetOrgPerson\nuid: ${name(i)}\ncn: ${name(i)}\nsn: Number ${i}\ngivenName: User\nmail: ${name(i)}@example.com\nuserPassword: pw-${i}\n`);
  return people.join('\n');
}

function addToGroupLdif(group: string, uids: string[]): string {
  return `dn: ${groupDn(group)}\nchangetype: modify\nadd: member\n${uids.map((u) => `member: ${userDn(u)}`).join('\n')}\n`;
}



const writes = (rs: RecordedRequest[]) => rs.filter((r) => r.method !== 'GET');

describe('paperless-ldap-gateway sync', () => {
  let stack: Stack;
  before(async () => {
    // Paperless caps pages at 100 here, so 250+ users take several pages to read.
    stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile() }, sim: { maxPageSize: 100 } });
    await stack.slapd.ldapadd(extraUsersLdif());
    await stack.slapd.ldapadd(addToGroupLdif('paperless-users', Array.from({ length: EXTRA }, (_, i) => name(i))), true);
  });
  after(async () => stack?.stop());

  it('--dry-run --json prints a correct plan and changes nothing', async () => {
    const start = stack.sim.requests.length;
    const usersBefore = stack.sim.users.length;
    const res = await runCliToEnd(['sync', '--dry-run', '--json'], stack.gateway.env);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.dryRun, true);
    assert.equal(out.plan.create.length, EXTRA + 3);
    assert.deepEqual(out.plan.createGroups, ['Accounting', 'Admins', 'Staff']);
    const alice = out.plan.create.find((u: { username: string }) => u.username === 'alice');
    assert.equal(alice.desired.is_superuser, true);
    assert.deepEqual(alice.membership.add, ['Admins', 'Staff']);
    assert.equal(stack.sim.users.length, usersBefore);
    assert.deepEqual(writes(stack.sim.requests.slice(start)), [], 'only reads');
  });

  it('applies the plan, then finds nothing left to do', async () => {
    const res = await runCliToEnd(['sync'], stack.gateway.env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^ACTION\s+NAME\s+DETAILS$/m);
    assert.match(res.stdout, /^create user\s+alice\s+\+Admins \+Staff; superuser$/m);
    assert.match(res.stdout, new RegExp(`Applied: ${EXTRA + 3} created, 0 updated, 0 deactivated \\(0 sessions revoked\\), 3 groups created`));
    assert.equal(stack.sim.users.filter((u) => /^user\d{3}$/.test(u.username)).length, EXTRA);
    const u7 = stack.sim.user(name(7));
    assert.equal(u7?.email, `${name(7)}@example.com`);
    assert.deepEqual(u7?.groups.map((id) => stack.sim.groups.find((g) => g.id === id)?.name), ['Staff']);
    const again = await runCliToEnd(['sync', '--dry-run'], stack.gateway.env);
    assert.match(again.stdout, /Paperless already matches the directory/);
    assert.match(again.stdout, new RegExp(`Plan: 0 to create, 0 to update, 0 to deactivate, 0 groups to create, ${EXTRA + 3} unchanged`));
  });

  it('a login after sync makes no Paperless calls: sync recorded the state', async () => {
    const start = stack.sim.requests.length;
    assert.equal((await stack.browser().login(name(3), 'pw-3')).status, 303);
    assert.equal(stack.sim.requests.slice(start).filter((r) => r.rawHeaders.some(([k]) => k.toLowerCase() === 'authorization')).length, 0);
  });

  it('shows updates and membership changes in the plan', async () => {
    await stack.slapd.ldapadd(`dn: ${userDn('carol')}\nchangetype: modify\nreplace: mail\nmail: carol@new.example.com\n`, true);
    await stack.slapd.ldapadd(addToGroupLdif('paperless-admins', ['carol']), true);
    const res = await runCliToEnd(['sync', '--dry-run'], stack.gateway.env);
    assert.match(res.stdout, /^update user\s+carol\s+email, is_superuser, is_staff; \+Admins$/m);
  });

  it('--deprovision deactivates users gone from the directory and revokes their sessions; keeps the token user', async () => {
    const b = stack.browser();
    assert.equal((await b.login('bob', 'bob-pass')).status, 303);
    assert.equal((await b.get('/documents/')).status, 200);
    await stack.slapd.ldapadd(`dn: ${userDn('bob')}\nchangetype: delete\n`, true);
    // Pretend the token's own user was once provisioned, and is not in the directory.
    const redis = new Redis(stack.redis.url);
    await redis.sadd('gateway:prov:users', 'gateway-admin');
    redis.disconnect();

    const dry = await runCliToEnd(['sync', '--dry-run', '--deprovision', '--json'], stack.gateway.env);
    const plan = JSON.parse(dry.stdout).plan;
    assert.deepEqual(plan.deactivate.map((d: { username: string }) => d.username), ['bob']);
    assert.deepEqual(plan.deactivate[0].removeGroups.sort(), ['Accounting', 'Staff']);
    assert.deepEqual(plan.protected, [{ username: 'gateway-admin', reason: "the API token's own user" }]);
    assert.equal(stack.sim.user('bob')?.is_active, true, 'dry run changed nothing');

    const res = await runCliToEnd(['sync', '--deprovision'], stack.gateway.env);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /1 deactivated \(1 sessions revoked\)/);
    assert.equal(stack.sim.user('bob')?.is_active, false);
    assert.deepEqual(stack.sim.user('bob')?.groups, []);
    assert.equal(stack.sim.user('gateway-admin')?.is_active, true);
    assert.equal((await b.get('/documents/')).status, 302, "bob's old cookie stopped working");
  });

  it('without --deprovision nobody is deactivated', async () => {
    await stack.slapd.ldapadd(`dn: ${userDn(name(0))}\nchangetype: delete\n`, true);
    const res = await runCliToEnd(['sync', '--json'], stack.gateway.env);
    assert.deepEqual(JSON.parse(res.stdout).plan.deactivate, []);
    assert.equal(stack.sim.user(name(0))?.is_active, true);
  });

  it('refuses unknown options and a dead Paperless with clear errors', async () => {
    const bad = await runCliToEnd(['sync', '--dryrun'], stack.gateway.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown option --dryrun/);
    const port = stack.sim.port;
    await stack.sim.stop();
    try {
      const down = await runCliToEnd(['sync', '--dry-run'], { ...stack.gateway.env, GATEWAY_PAPERLESS_API_TIMEOUT: '1s' });
      assert.equal(down.code, 1);
      assert.match(down.stderr, /Paperless API GET \/api\/groups\/ failed/);
    } finally {
      await stack.sim.start(port);
    }
  });
});

describe('scheduled sync', () => {
  it('runs inside the server, once per interval however many replicas share Redis', async () => {
    const stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile(), GATEWAY_SYNC_INTERVAL: '1s' } });
    const port = await freePort();
    const second = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}` });
    try {
      await second.start();
      // Counted from here: the first replica's syncs while the second started are outside the window.
      const [firstFrom, secondFrom] = [stack.gateway.logs.length, second.logs.length];
      // Kept: a rate is counted over a window of time (the interval is at its 1 s minimum); replicas that each ran their own would make 6 to 8.
      await new Promise((r) => setTimeout(r, 3600));
      const runs = [...stack.gateway.logs.slice(firstFrom), ...second.logs.slice(secondFrom)].filter((l) => l.includes('"sync.finished"')).length;
      assert.ok(runs >= 2 && runs <= 4, `${runs} syncs in 3.6 s with a 1 s interval`);
      assert.ok(stack.sim.user('alice'), 'the scheduled sync provisioned users nobody signed in as');
    } finally {
      await second.stop();
      await stack.stop();
    }
  });
});
