/**
 * Sign-in rules, provisioning's change computation and sync planning, in-process: fakes for
 * the directory and Paperless, milliseconds each. The stack tests prove the same against real
 * servers; these pin the rules themselves.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { CredentialCheck } from '../src/auth/credential-check.js';
import { BannedError, type Reservation } from '../src/auth/regulation.js';
import { ResponseTiming } from '../src/auth/response-timing.js';
import { DEFAULT_MAPPING, type ProvisioningMapping } from '../src/config/mapping.js';
import type { Directory, DirectoryUser } from '../src/directory/directory.js';
import { DirectoryUnavailableError, InvalidCredentialsError, NotAllowedError, UsernameNotRepresentableError } from '../src/directory/errors.js';
import { Metrics } from '../src/ops/metrics.js';
import { desiredState } from '../src/provisioning/desired.js';
import { PaperlessApiError } from '../src/paperless/errors.js';
import type { PaperlessGroup, PaperlessUser } from '../src/paperless/api.js';
import { userChanges } from '../src/provisioning/provisioner.js';
import { planSync, type PlanSource } from '../src/provisioning/sync.js';

const silent = pino({ level: 'silent' });

const person = (username: string, groups: string[] = [], fields: Partial<DirectoryUser> = {}): DirectoryUser => ({
  username,
  dn: `uid=${username},ou=people,dc=example,dc=org`,
  groups: groups.map((name) => ({ name, dn: `cn=${name},ou=groups,dc=example,dc=org` })),
  ...fields,
});

const paperlessUser = (id: number, username: string, fields: Partial<PaperlessUser> = {}): PaperlessUser => ({
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
  ...fields,
});

const mapping: ProvisioningMapping = {
  ...DEFAULT_MAPPING,
  groups: [
    { ldap: 'Accounting', paperless: 'Accounting', permissions: ['view_document'], superuser: false, staff: false },
    { ldap: 'Admins', paperless: 'Admins', permissions: [], superuser: true, staff: true },
  ],
};

describe("userChanges: what an existing Paperless user must change to match the directory", () => {
  const account = desiredState(person('alice', ['Accounting'], { email: 'alice@example.org', firstName: 'Alice' }), mapping).account;

  it('nothing when Paperless already matches', () => {
    const current = paperlessUser(7, 'alice', { email: 'alice@example.org', first_name: 'Alice', groups: [3] });
    assert.deepEqual(userChanges(current, account, [3], new Set([3])), {});
  });

  it('names, flags, reactivation and the managed groups, keeping the groups admins set by hand', () => {
    const current = paperlessUser(7, 'alice', { email: 'old@example.org', is_superuser: true, is_active: false, groups: [3, 9, 12] });
    // 3 is managed and wanted, 12 managed and no longer wanted, 9 an admin's own group.
    const changes = userChanges(current, account, [3], new Set([3, 12]));
    assert.deepEqual(changes, { email: 'alice@example.org', first_name: 'Alice', is_superuser: false, is_active: true, groups: [3, 9] });
  });

  it('adds the mapping\'s permissions and never removes ones an admin granted', () => {
    const current = paperlessUser(7, 'alice', { email: 'alice@example.org', first_name: 'Alice', groups: [3], user_permissions: ['delete_document'] });
    const changes = userChanges(current, account, [3], new Set([3]));
    assert.deepEqual(changes.user_permissions, [...new Set(['delete_document', ...DEFAULT_MAPPING.permissions])].sort());
  });

  it('a renamed spelling is changed to the directory\'s', () => {
    const current = paperlessUser(7, 'Alice', { email: 'alice@example.org', first_name: 'Alice', groups: [3] });
    assert.deepEqual(userChanges(current, account, [3], new Set([3])), { username: 'alice' });
  });
});

describe('planSync: what a sync would do, read-only', () => {
  function source(state: { users: PaperlessUser[]; groups: PaperlessGroup[]; provisioned?: string[]; me?: string }): PlanSource {
    return {
      desired: async (user) => desiredState(user, mapping),
      provisionedUsers: async () => [...(state.provisioned ?? [])],
      managedGroupNames: async () => new Set(['Accounting', 'Admins']),
      api: {
        listUsers: async () => state.users,
        listGroups: async () => state.groups,
        whoami: async () => ({ username: state.me ?? 'gateway-admin', is_superuser: true, version: '2.20.15' }),
      },
    };
  }
  const directory = (...people: DirectoryUser[]): Pick<Directory, 'listUsers'> => ({
    async *listUsers() {
      yield* people;
    },
  });

  it('creates the missing, updates the changed, counts the unchanged, and names groups still to create', async () => {
    const groups = [{ id: 3, name: 'Accounting', permissions: ['view_document'] }];
    const users = [
      paperlessUser(1, 'alice', { groups: [3] }),
      paperlessUser(2, 'bob', { groups: [3], email: 'stale@example.org' }),
    ];
    const plan = await planSync(
      directory(person('alice', ['Accounting']), person('bob', ['Admins']), person('carol', ['Accounting', 'Admins']), person('dave', ['Outsiders'])),
      ['Accounting', 'Admins'],
      source({ users, groups }),
      { deprovision: false },
    );
    assert.equal(plan.unchanged, 1, 'alice matches');
    assert.deepEqual(plan.create.map((p) => [p.username, p.membership.add]), [['carol', ['Accounting', 'Admins']]]);
    assert.equal(plan.update.length, 1);
    const bob = plan.update[0];
    assert.equal(bob?.username, 'bob');
    assert.deepEqual(bob?.fields.sort(), ['email', 'is_staff', 'is_superuser']);
    // Admins does not exist yet: its stand-in id is shown by name, and Accounting leaves.
    assert.deepEqual(bob?.membership, { add: ['Admins'], remove: ['Accounting'] });
    assert.deepEqual(plan.createGroups, ['Admins']);
    assert.deepEqual(plan.deactivate, [], 'nobody is deactivated without --deprovision');
  });

  it('with deprovision, deactivates provisioned users who left, but never the token\'s user or the last active superuser', async () => {
    const groups = [{ id: 3, name: 'Accounting', permissions: ['view_document'] }, { id: 4, name: 'Own', permissions: [] }];
    const users = [
      paperlessUser(1, 'gone', { groups: [3, 4] }),
      paperlessUser(2, 'gateway-admin'),
      paperlessUser(3, 'root1', { is_superuser: true }),
      paperlessUser(4, 'root2', { is_superuser: true }),
      paperlessUser(5, 'alreadyoff', { is_active: false }),
      paperlessUser(6, 'local'),
    ];
    const plan = await planSync(directory(), [], source({ users, groups, provisioned: ['root2', 'gone', 'gateway-admin', 'root1', 'alreadyoff'] }), { deprovision: true });
    // Only the provisioned are considered ('local' never was); the managed group goes, 'Own' stays;
    // of two superusers who left, the first (by name) goes and the second is the last one left.
    assert.deepEqual(plan.deactivate, [
      { username: 'gone', id: 1, removeGroups: ['Accounting'] },
      { username: 'root1', id: 3, removeGroups: [] },
    ]);
    assert.deepEqual(plan.protected, [
      { username: 'gateway-admin', reason: "the API token's own user" },
      { username: 'root2', reason: 'the last active superuser' },
    ]);
  });
});

describe('CredentialCheck: every sign-in rule, in order', () => {
  class FakeRegulation {
    readonly calls: string[] = [];
    banned = new Set<string>();
    async check(username: string, ip: string): Promise<void> {
      this.calls.push(`check ${username} ${ip}`);
      if (this.banned.has(username)) throw new BannedError('banned by the user limit', 60);
    }
    async failed(username: string, ip: string) {
      this.calls.push(`failed ${username} ${ip}`);
      return username === 'mallory' ? [{ limit: 'user+ip', seconds: 60 }] : [];
    }
    async succeeded(username: string, ip: string): Promise<void> {
      this.calls.push(`succeeded ${username} ${ip}`);
    }
    async reserve(username: string, ip: string): Promise<Reservation> {
      this.calls.push(`reserve ${username} ${ip}`);
      if (this.banned.has(username)) throw new BannedError('banned by the user limit', 60);
      return { username, ip, taken: [] };
    }
    async release(reservation: Reservation): Promise<void> {
      this.calls.push(`release ${reservation.username} ${reservation.ip}`);
    }
    async confirm(reservation: Reservation) {
      this.calls.push(`confirm ${reservation.username} ${reservation.ip}`);
      return reservation.username === 'mallory' ? [{ limit: 'user+ip', seconds: 60 }] : [];
    }
  }

  function build(options: { people?: Record<string, DirectoryUser>; provisioning?: 'deny' | 'allow'; provisionFails?: boolean; allowedGroups?: string[]; directoryDown?: boolean; appPasswords?: boolean; caseInsensitivePrincipals?: boolean } = {}) {
    const regulation = new FakeRegulation();
    /** The timing's clock: each directory call takes 10 ms. */
    const clock = { now: 0 };
    const metrics = new Metrics();
    const asked: string[] = [];
    const provisioned: string[] = [];
    const slept: number[] = [];
    const directory: Directory = {
      async authenticate(username, password, beforeBind, known) {
        asked.push(username);
        if (options.directoryDown) throw new DirectoryUnavailableError('ldap down');
        // A search costs 10 ms, unless the entry a look-up found is handed over; a bind 10 ms more.
        if (!known) clock.now += 10;
        const found = known ?? options.people?.[username.trim().toLowerCase()];
        if (found) clock.now += 10;
        // As the directory does: after the search, before the bind, with the person it found.
        await beforeBind?.(found ? found.username : username.trim().toLowerCase());
        if (!found || password !== 'secret') {
          const error = new InvalidCredentialsError('wrong');
          if (found) error.entryUsername = found.username;
          throw error;
        }
        return found;
      },
      lookup: async (username) => {
        clock.now += 10;
        return options.people?.[username.trim().toLowerCase()];
      },
      changePassword: async () => {
        throw new Error('no sign-in rule changes a password');
      },
      listUsers: async function* () {},
      missingGroups: async () => [],
      check: async () => undefined,
      close: async () => undefined,
    };
    const check = new CredentialCheck({
      directory,
      allowedGroups: options.allowedGroups ?? [],
      provisioner: {
        provision: async (user) => {
          if (options.provisionFails) throw new PaperlessApiError('Paperless answered 500', 500);
          provisioned.push(user.username);
          return true;
        },
      },
      provisioningFailure: options.provisioning ?? 'deny',
      regulation,
      timing: new ResponseTiming(150, { now: () => clock.now, sleep: async (ms) => void slept.push(ms), random: () => 0 }),
      metrics,
      ...(options.caseInsensitivePrincipals !== undefined ? { caseInsensitivePrincipals: options.caseInsensitivePrincipals } : {}),
      // App passwords look like `app-…`; none of them is anyone's.
      ...(options.appPasswords ? { appPasswords: { looksLike: (typed: string) => typed.startsWith('app-'), matches: async () => false } } : {}),
      log: silent,
    });
    const logins = async () => (await metrics.logins.get()).values.map((v) => `${v.labels.outcome}/${v.labels.via}=${v.value}`);
    return { check, regulation, asked, provisioned, slept, metrics, logins };
  }

  const people = { alice: person('alice', ['Staff']), 'josé': person('josé'), 'ἀλέξανδρος': person('ἀλέξανδρος') };

  it('a good password: the ban is checked first, the success recorded, Paperless provisioned, and it is counted', async () => {
    const { check, regulation, provisioned, logins } = build({ people });
    const user = await check.verify('Alice', 'secret', '10.0.0.1', 'form');
    assert.equal(user.username, 'alice');
    assert.deepEqual(regulation.calls, ['check alice 10.0.0.1', 'reserve alice 10.0.0.1', 'release alice 10.0.0.1', 'succeeded alice 10.0.0.1']);
    assert.deepEqual(provisioned, ['alice']);
    assert.deepEqual(await logins(), ['success/form=1']);
  });

  it('a banned attempt never reaches the directory and takes as long as a wrong password', async () => {
    const { check, regulation, asked, slept, logins } = build({ people });
    regulation.banned.add('alice');
    await assert.rejects(check.verify('alice', 'secret', '10.0.0.1', 'basic'), BannedError);
    assert.deepEqual(asked, [], 'the directory was not asked');
    assert.deepEqual(regulation.calls, ['check alice 10.0.0.1'], 'a ban is not counted as another failure');
    assert.deepEqual(slept, [150], 'padded like any refusal');
    assert.deepEqual(await logins(), ['banned/basic=1']);
  });

  it('an app password tried first is inside the padded time: a real person and a name that resolves to nobody take as long, and a ban found there is padded too', async () => {
    const { check, regulation, slept } = build({ people, appPasswords: true });
    // A real person: the look-up (10 ms), then a bind of the entry it found (10 ms), never a second
    // search; nobody: the look-up and the search (10 ms each). Both are padded from the start.
    await assert.rejects(check.verify('alice', 'app-guess', '10.0.0.4', 'api-token'), InvalidCredentialsError);
    await assert.rejects(check.verify('nobody', 'app-guess', '10.0.0.4', 'api-token'), InvalidCredentialsError);
    assert.deepEqual(slept, [130, 130]);
    regulation.banned.add('alice');
    await assert.rejects(check.verify('alice', 'app-guess', '10.0.0.4', 'basic'), BannedError);
    assert.deepEqual(slept, [130, 130, 150], 'a ban found before the look-up waits a refusal\'s time');
  });

  it('a Kerberos principal is admitted only as the entry of its very name, as the entry holds it: any case on Active Directory, exactly elsewhere (MIT realms hold Alice and alice apart)', async () => {
    const mit = build({ people });
    assert.equal((await mit.check.checkTicket('alice', 'EXAMPLE.ORG', '10.0.0.5')).username, 'alice');
    assert.deepEqual(mit.regulation.calls, ['check alice 10.0.0.5', 'succeeded alice 10.0.0.5'], 'the address becomes the person\'s own, as after a right password');
    await assert.rejects(mit.check.checkTicket('Alice', 'EXAMPLE.ORG', '10.0.0.5'), NotAllowedError);
    // uid=Alice: the lookup folds case, the username is lower case; only Alice@R is this entry's.
    const capital = build({ people: { alice: person('alice', [], { nameAsStored: 'Alice' }) } });
    await assert.rejects(capital.check.checkTicket('alice', 'EXAMPLE.ORG', '10.0.0.5'), NotAllowedError);
    assert.equal((await capital.check.checkTicket('Alice', 'EXAMPLE.ORG', '10.0.0.5')).username, 'alice');
    const ad = build({ people, caseInsensitivePrincipals: true });
    assert.equal((await ad.check.checkTicket('Alice', 'EXAMPLE.ORG', '10.0.0.5')).username, 'alice');
    // On Active Directory a realm is a domain: another domain's alice (a Global Catalog finds her too) is not this ticket's.
    await assert.rejects(ad.check.checkTicket('alice', 'EMEA.EXAMPLE.ORG', '10.0.0.5'), NotAllowedError);
    const child = build({ people: { alice: person('alice', [], { dn: 'CN=alice,CN=Users,DC=emea,DC=example,DC=org' }) }, caseInsensitivePrincipals: true });
    await assert.rejects(child.check.checkTicket('alice', 'EXAMPLE.ORG', '10.0.0.5'), NotAllowedError);
    assert.equal((await child.check.checkTicket('alice', 'EMEA.EXAMPLE.ORG', '10.0.0.5')).username, 'alice');
  });

  it("a wrong password counts against the entry's own name, whatever spelling was typed", async () => {
    const { check, regulation, metrics } = build({ people });
    await assert.rejects(check.verify(' ALICE', 'nope', '10.0.0.2', 'api-token'), InvalidCredentialsError);
    assert.deepEqual(regulation.calls, ['check alice 10.0.0.2', 'reserve alice 10.0.0.2', 'confirm alice 10.0.0.2']);
    await assert.rejects(check.verify('mallory', 'nope', '10.0.0.2', 'form'), InvalidCredentialsError);
    assert.deepEqual((await metrics.bans.get()).values.map((v) => [v.labels.limit, v.value]), [['user+ip', 1]], 'a ban that starts is counted');
  });

  it('refuses who is in no allowed group, and a name the identity header cannot carry, before provisioning', async () => {
    const { check, provisioned, logins } = build({ people, allowedGroups: ['Paperless'] });
    await assert.rejects(check.verify('alice', 'secret', '10.0.0.3', 'form'), NotAllowedError);
    const open = build({ people });
    await assert.rejects(open.check.verify('ἀλέξανδρος', 'secret', '10.0.0.3', 'form'), UsernameNotRepresentableError);
    assert.ok((await open.check.verify('josé', 'secret', '10.0.0.3', 'form')).username === 'josé', 'Latin-1 is fine');
    assert.deepEqual(provisioned, []);
    assert.deepEqual(await logins(), ['not_allowed/form=1']);
    assert.deepEqual(open.provisioned, ['josé']);
  });

  it('a directory outage is neither a failure to count nor padded', async () => {
    const { check, regulation, slept, logins } = build({ people, directoryDown: true });
    await assert.rejects(check.verify('alice', 'secret', '10.0.0.4', 'form'), DirectoryUnavailableError);
    assert.deepEqual(regulation.calls, ['check alice 10.0.0.4']);
    assert.deepEqual(slept, []);
    assert.deepEqual(await logins(), ['directory_unavailable/form=1']);
  });

  it("provisioning failures: 'deny' refuses the sign-in, 'allow' lets the person in; both are counted", async () => {
    const deny = build({ people, provisionFails: true, provisioning: 'deny' });
    await assert.rejects(deny.check.verify('alice', 'secret', '10.0.0.5', 'form'), PaperlessApiError);
    assert.equal((await deny.metrics.provisioningFailures.get()).values[0]?.value, 1);
    const allow = build({ people, provisionFails: true, provisioning: 'allow' });
    assert.equal((await allow.check.verify('alice', 'secret', '10.0.0.5', 'form')).username, 'alice');
    assert.equal((await allow.metrics.provisioningFailures.get()).values[0]?.value, 1);
    assert.deepEqual(await allow.logins(), ['success/form=1']);
  });
});
