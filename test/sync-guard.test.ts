/**
 * The deprovisioning guard: a directory that suddenly returns nobody in scope, or a plan that
 * would deactivate more than the allowed share of the gateway's users, stops `sync --deprovision`
 * and the scheduled sync with an error that says why, and deactivates no one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_MAPPING } from '../src/config/mapping.js';
import type { Directory, DirectoryUser } from '../src/directory/directory.js';
import { desiredState } from '../src/provisioning/desired.js';
import type { PaperlessGroup, PaperlessUser } from '../src/paperless/api.js';
import type { Provisioner } from '../src/provisioning/provisioner.js';
import { applySync, planSync, SyncHaltedError, type PlanSource } from '../src/provisioning/sync.js';
import { groupDn, userDn } from './support/directory-data.js';
import { GatewayProcess, freePort, runCliToEnd } from './support/gateway.js';
import { mappingFile } from './support/mapping.js';
import { pollUntil } from './support/poll.js';
import { startStack, type Stack } from './support/stack.js';

const person = (username: string): DirectoryUser => ({ username, dn: `uid=${username},ou=people,dc=example,dc=org`, groups: [] });
const paperlessUser = (id: number, username: string): PaperlessUser => ({
  id,
  username,
  email: '',
  first_name: '',
  last_name: '',
  is_active: true,
  is_staff: false,
  is_superuser: false,
  groups: [],
  user_permissions: [...DEFAULT_MAPPING.permissions],
});

describe('deprovisioning guard, in-process', () => {
  const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
  const users = names.map((n, i) => paperlessUser(i + 1, n));
  const source: PlanSource = {
    desired: async (user) => desiredState(user, DEFAULT_MAPPING),
    provisionedUsers: async () => [...names],
    managedGroupNames: async () => new Set<string>(),
    api: {
      listUsers: async () => users.map((u) => ({ ...u })),
      listGroups: async (): Promise<PaperlessGroup[]> => [],
      whoami: async () => ({ username: 'gateway-admin', is_superuser: true, version: '2.20.15' }),
    },
  };
  const directory = (...people: string[]): Pick<Directory, 'listUsers'> => ({
    async *listUsers() {
      yield* people.map(person);
    },
  });
  /** A provisioner that fails the test if anything is asked of it: a halted sync writes nothing. */
  const untouchable = new Proxy({}, { get: (_t, prop) => assert.fail(`the halted sync used the provisioner (${String(prop)})`) }) as Provisioner;

  it('a directory that returns nobody in scope stops the sync: nobody is deactivated, and the error says why', async () => {
    const plan = await planSync(directory(), [], source, { deprovision: true });
    assert.equal(plan.deactivate.length, 10);
    assert.match(plan.halt ?? '', /the directory returned nobody in scope/);
    await assert.rejects(applySync(plan, untouchable, async () => assert.fail('no session revoked'), { deprovision: true }), (err: unknown) => {
      assert.ok(err instanceof SyncHaltedError);
      assert.match(err.message, /^sync stopped, nothing was changed: the directory returned nobody in scope, yet 10 users would be deactivated/);
      return true;
    });
    const without = await planSync(directory(), [], source, { deprovision: false });
    assert.equal(without.halt, undefined, 'without deprovisioning there is nothing to guard');
  });

  it('more than the allowed share (10 %, at least 3) stops the sync; up to it passes', async () => {
    const tooMany = await planSync(directory(...names.slice(4)), [], source, { deprovision: true });
    assert.equal(tooMany.deactivate.length, 4);
    assert.match(tooMany.halt ?? '', /^4 of 10 active users would be deactivated, more than the allowed 10 % \(at most 3\)/);
    await assert.rejects(applySync(tooMany, untouchable, async () => 0, { deprovision: true }), SyncHaltedError);

    const few = await planSync(directory(...names.slice(3)), [], source, { deprovision: true });
    assert.equal(few.deactivate.length, 3);
    assert.equal(few.halt, undefined, 'a few people leaving at once is normal');

    const allowed = await planSync(directory(...names.slice(4)), [], source, { deprovision: true, maxDeprovisionShare: 0.5 });
    assert.equal(allowed.halt, undefined, 'the share is a setting');
  });
});

describe('deprovisioning guard, against slapd and Paperless', () => {
  const extra = ['dan', 'eve', 'fay', 'gil', 'hal'];
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile() } });
    await stack.slapd.ldapadd(extra.map((u) => `dn: ${userDn(u)}\nobjectClass: inetOrgPerson\nuid: ${u}\ncn: ${u}\nsn: ${u}\nuserPassword: ${u}-pass\n`).join('\n'));
    await stack.slapd.ldapadd(`dn: ${groupDn('paperless-users')}\nchangetype: modify\nadd: member\n${extra.map((u) => `member: ${userDn(u)}`).join('\n')}\n`, true);
    const first = await runCliToEnd(['sync'], stack.gateway.env);
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => stack?.stop());

  const active = () => stack.sim.users.filter((u) => u.username !== 'gateway-admin' && u.is_active).map((u) => u.username).sort();

  it('sync --deprovision on a directory whose scope is suddenly empty exits with the reason and deactivates no one', async () => {
    const before = active();
    assert.equal(before.length, 8);
    const env = { ...stack.gateway.env, GATEWAY_LDAP_ALLOWED_GROUPS: 'no-such-group' };
    const dry = await runCliToEnd(['sync', '--dry-run', '--deprovision'], env);
    assert.match(dry.stdout, /^Stopped: the directory returned nobody in scope, yet 8 users would be deactivated.*This plan will not be applied\.$/m);
    assert.equal(dry.code, 1, 'a stopped plan is no success, dry run or not');
    const res = await runCliToEnd(['sync', '--deprovision'], env);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /sync stopped, nothing was changed: the directory returned nobody in scope/);
    assert.deepEqual(active(), before);
  });

  it('sync --deprovision that would deactivate too many exits with the reason; the scheduled sync stops the same way', async () => {
    const before = active();
    for (const u of extra.slice(0, 4)) await stack.slapd.ldapadd(`dn: ${userDn(u)}\nchangetype: delete\n`, true);
    const res = await runCliToEnd(['sync', '--deprovision', '--json'], stack.gateway.env);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /sync stopped, nothing was changed: 4 of 8 active users would be deactivated, more than the allowed 10 %/);
    assert.deepEqual(active(), before);

    const port = await freePort();
    const scheduled = new GatewayProcess({ ...stack.gateway.env, GATEWAY_PORT: String(port), GATEWAY_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEWAY_SYNC_INTERVAL: '1s', GATEWAY_SYNC_DEPROVISION: 'true' });
    try {
      await scheduled.start();
      await pollUntil(async () => scheduled.logs.some((l) => l.includes('"sync.failed"')), 'the scheduled sync never ran', 100, 100);
      const failed = scheduled.logs.find((l) => l.includes('"sync.failed"')) ?? '';
      assert.match(failed, /sync stopped, nothing was changed: 4 of 8 active users would be deactivated/);
      assert.ok(!scheduled.logs.some((l) => l.includes('"sync.finished"')));
    } finally {
      await scheduled.stop();
    }
    assert.deepEqual(active(), before);

    // The share is the admin's to set: at 50 % the same four go.
    const allowed = await runCliToEnd(['sync', '--deprovision'], { ...stack.gateway.env, GATEWAY_SYNC_DEPROVISION_MAX_SHARE: '50' });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(active(), before.filter((u) => !extra.slice(0, 4).includes(u)));
  });
});
