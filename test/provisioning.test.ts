import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { groupDn, userDn } from './support/directory-data.js';
import { mappingFile } from './support/mapping.js';
import type { RecordedRequest } from './support/paperless-sim.js';
import { startStack, type Stack } from './support/stack.js';

const isApiCall = (r: RecordedRequest) => r.rawHeaders.some(([k, v]) => k.toLowerCase() === 'authorization' && v.startsWith('Token '));

describe('provisioning at login', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile() } });
  });
  after(async () => stack?.stop());

  const groupsOf = (username: string) =>
    (stack.sim.user(username)?.groups ?? []).map((id) => stack.sim.groups.find((g) => g.id === id)?.name).sort();

  it('creates the user with names, email, groups and permissions before the first proxied request', async () => {
    const b = stack.browser();
    assert.equal((await b.login('bob', 'bob-pass')).status, 303);
    const bob = stack.sim.user('bob');
    assert.ok(bob, 'bob exists in Paperless right after sign-in');
    assert.equal(bob.email, 'bob@example.com');
    assert.equal(bob.first_name, 'Bob');
    assert.equal(bob.last_name, 'Builder');
    assert.equal(bob.is_superuser, false);
    // No local password: nobody signs in to Paperless past the gateway with it, and it marks the
    // account as not a local one (see test/attacks/local-accounts.test.ts).
    assert.equal(bob.password, '', 'no local password');
    assert.deepEqual(groupsOf('bob'), ['Accounting', 'Staff']);
    assert.ok(bob.user_permissions.includes('view_uisettings'));
    assert.ok(bob.user_permissions.includes('view_document'));
    assert.deepEqual(stack.sim.groups.find((g) => g.name === 'Accounting')?.permissions.includes('change_document'), true);
    const before = stack.sim.users.length;
    assert.match((await b.get('/')).body, /id="user">bob</, 'the UI page loads as bob');
    const ui = await b.get('/api/ui_settings/');
    assert.equal(ui.status, 200, 'the UI can load its settings');
    assert.equal(stack.sim.users.length, before, 'the header request found the provisioned user');
  });

  it('makes zero Paperless API calls for an unchanged second login', async () => {
    const start = stack.sim.requests.length;
    assert.equal((await stack.browser().login('bob', 'bob-pass')).status, 303);
    assert.deepEqual(stack.sim.requests.slice(start).filter(isApiCall), []);
  });

  it('updates names and email when the directory changes', async () => {
    await stack.slapd.ldapadd(`dn: ${userDn('bob')}\nchangetype: modify\nreplace: mail\nmail: robert@example.com\n-\nreplace: givenName\ngivenName: Robert\n`, true);
    await stack.browser().login('bob', 'bob-pass');
    assert.equal(stack.sim.user('bob')?.email, 'robert@example.com');
    assert.equal(stack.sim.user('bob')?.first_name, 'Robert');
  });

  it('adds and removes managed groups, grants and revokes admin, leaves unmanaged groups alone', async () => {
    const manual = stack.sim.addGroup('Hand-made');
    const bob = stack.sim.user('bob');
    assert.ok(bob);
    bob.groups.push(manual.id);
    await stack.slapd.ldapadd(`dn: ${groupDn('paperless-admins')}\nchangetype: modify\nadd: member\nmember: ${userDn('bob')}\n`, true);
    await stack.browser().login('bob', 'bob-pass');
    assert.deepEqual(groupsOf('bob'), ['Accounting', 'Admins', 'Hand-made', 'Staff']);
    assert.equal(stack.sim.user('bob')?.is_superuser, true);
    assert.equal(stack.sim.user('bob')?.is_staff, true);
    await stack.slapd.ldapadd(`dn: ${groupDn('paperless-admins')}\nchangetype: modify\ndelete: member\nmember: ${userDn('bob')}\n`, true);
    await stack.browser().login('bob', 'bob-pass');
    assert.deepEqual(groupsOf('bob'), ['Accounting', 'Hand-made', 'Staff']);
    assert.equal(stack.sim.user('bob')?.is_superuser, false);
    assert.equal(stack.sim.user('bob')?.is_staff, false);
  });

  it('two simultaneous first logins of one user create one Paperless user', async () => {
    const results = await Promise.all([stack.browser().login('carol', 'carol-pass'), stack.browser().login('carol', 'carol-pass'), stack.browser().login('Carol', 'carol-pass')]);
    assert.deepEqual(results.map((r) => r.status), [303, 303, 303]);
    assert.equal(stack.sim.users.filter((u) => u.username.toLowerCase() === 'carol').length, 1);
  });

  it('two users needing the same new group create one group', async () => {
    const ldif = ['dave', 'erin']
      .map((uid) => `dn: ${userDn(uid)}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: ${uid}-pass\n`)
      .join('\n');
    await stack.slapd.ldapadd(`${ldif}\ndn: ${groupDn('newcomers')}\nobjectClass: groupOfNames\ncn: newcomers\nmember: ${userDn('dave')}\nmember: ${userDn('erin')}\n`);
    const [d, e] = await Promise.all([stack.browser().login('dave', 'dave-pass'), stack.browser().login('erin', 'erin-pass')]);
    assert.equal(d.status, 303);
    assert.equal(e.status, 303);
    assert.equal(stack.sim.groups.filter((g) => g.name === 'Newcomers').length, 1);
    assert.deepEqual(groupsOf('dave'), ['Newcomers']);
    assert.deepEqual(groupsOf('erin'), ['Newcomers']);
  });

  it('brings back a user deactivated in Paperless when they sign in again from the directory', async () => {
    const alice = stack.sim.user('alice') ?? stack.sim.addUser({ username: 'alice' });
    alice.is_active = false;
    await stack.browser().login('alice', 'alice-pass');
    assert.equal(stack.sim.user('alice')?.is_active, true);
  });
});

describe('provisioning failures', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PAPERLESS_API_TIMEOUT: '1s' } });
  });
  after(async () => stack?.stop());

  const loginWith = async (env: () => void, username = 'bob', password = 'bob-pass') => {
    env();
    try {
      return await stack.browser().login(username, password);
    } finally {
      stack.sim.faults.failWith = undefined;
      stack.sim.faults.delayMs = 0;
    }
  };

  it('500 from Paperless: the form says Paperless could not be updated, after retries', async () => {
    const start = stack.sim.requests.length;
    const res = await loginWith(() => (stack.sim.faults.failWith = { status: 500, body: { detail: 'boom' } }));
    assert.equal(res.status, 502);
    assert.match(res.body, /Paperless could not be updated with your account details, so you are not signed in/);
    assert.doesNotMatch(res.body, /You are signed in/, 'nobody is: the form must not say so');
    assert.equal(stack.sim.requests.slice(start).filter(isApiCall).length, 3, 'three attempts with backoff');
    assert.equal(res.setCookies.some((c) => c.startsWith('gateway_session=')), false, 'no session (policy deny)');
  });

  it('timeout: the same clear outcome', async () => {
    const res = await loginWith(() => (stack.sim.faults.delayMs = 1500));
    assert.equal(res.status, 502);
    assert.ok(stack.gateway.logs.some((l) => l.includes('no answer within 1000 ms')));
  });

  it('a rejected token and a non-superuser token (both 403 from Paperless) are told apart in the log, never the token itself', async () => {
    const bad = await startStack({ env: { GATEWAY_PAPERLESS_TOKEN: 'not-a-valid-token' } });
    try {
      const res = await bad.browser().login('bob', 'bob-pass');
      assert.equal(res.status, 502);
      assert.ok(bad.gateway.logs.some((l) => l.includes('refused the API token (403 \\"Invalid token.\\")')), bad.gateway.logs.join('\n'));
      assert.equal(bad.gateway.logs.some((l) => l.includes('not-a-valid-token')), false);
    } finally {
      await bad.stop();
    }
    const limited = await startStack({ tokenUser: { username: 'helper', user_permissions: ['view_user', 'view_group'] } });
    try {
      const res = await limited.browser().login('bob', 'bob-pass');
      assert.equal(res.status, 502);
      assert.ok(limited.gateway.logs.some((l) => l.includes("the token's user must be a superuser")));
    } finally {
      await limited.stop();
    }
  });

  it('policy allow: the person gets in, and the next login retries', async () => {
    const lenient = await startStack({ env: { GATEWAY_PROVISIONING_FAILURE: 'allow' } });
    try {
      lenient.sim.faults.failWith = { status: 500, body: {} };
      const res = await lenient.browser().login('bob', 'bob-pass');
      lenient.sim.faults.failWith = undefined;
      assert.equal(res.status, 303);
      assert.equal(lenient.sim.user('bob'), undefined);
      assert.ok(lenient.gateway.logs.some((l) => l.includes('"provisioning.failure"')));
      await lenient.browser().login('bob', 'bob-pass');
      assert.ok(lenient.sim.user('bob'), 'provisioned on the next login');
    } finally {
      await lenient.stop();
    }
  });
});

describe('mirroring unmapped groups', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_PROVISIONING_FILE: mappingFile('mirror_unmapped_groups: true\ngroups:\n  - ldap: paperless-admins\n    paperless: Admins\n    superuser: true\n') } });
  });
  after(async () => stack?.stop());

  const groupsOf = (username: string) =>
    (stack.sim.user(username)?.groups ?? []).map((id) => stack.sim.groups.find((g) => g.id === id)?.name).sort();

  it('creates a Paperless group per directory group, keeps membership in step, and leaves their permissions to admins', async () => {
    await stack.browser().login('bob', 'bob-pass');
    assert.deepEqual(groupsOf('bob'), ['Accounting, Tax', 'paperless-users']);
    const accounting = stack.sim.groups.find((g) => g.name === 'Accounting, Tax');
    assert.equal(accounting?.permissions.length, 0);
    accounting?.permissions.push('view_document'); // an admin grants something by hand
    await stack.slapd.ldapadd(`dn: ${groupDn('Accounting, Tax')}\nchangetype: modify\nadd: member\nmember: ${userDn('alice')}\n`, true);
    await stack.browser().login('alice', 'alice-pass');
    assert.deepEqual(groupsOf('alice'), ['Accounting, Tax', 'Admins', 'paperless-users']);
    assert.deepEqual(stack.sim.groups.find((g) => g.name === 'Accounting, Tax')?.permissions, ['view_document'], 'hand-made permissions kept');
    await stack.slapd.ldapadd(`dn: ${groupDn('Accounting, Tax')}\nchangetype: modify\ndelete: member\nmember: ${userDn('bob')}\n`, true);
    await stack.browser().login('bob', 'bob-pass');
    assert.deepEqual(groupsOf('bob'), ['paperless-users'], 'a mirrored group the user left is removed');
  });
});
