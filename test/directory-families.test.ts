/**
 * OpenLDAP, FreeIPA-shaped and LLDAP-shaped trees on a real slapd, each with
 * the preset README documents. FreeIPA and LLDAP are not in Debian, so their
 * layouts (bases, object classes, nsAccountLock, memberOf) are rebuilt here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import type { DirectoryUser } from '../src/directory/directory.js';
import { InvalidCredentialsError, PasswordChangeRequiredError } from '../src/directory/errors.js';
import { LdapDirectory } from '../src/directory/ldap-directory.js';
import { BASE_DN, USER_BASE, groupDn, userDn } from './support/directory-data.js';
import { baseEnv } from './support/gateway.js';
import { Slapd } from './support/slapd.js';

const groupNames = (u: DirectoryUser) => u.groups.map((g) => g.name).sort();

function directory(url: string, env: Record<string, string>): LdapDirectory {
  const config = loadConfig({
    ...baseEnv({ ldapUrl: url, redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 }),
    GATEWAY_LDAP_GROUP_BASE: '',
    ...env,
  });
  return new LdapDirectory(config.ldap);
}

/** Nesting on top of the standard test tree: Accounting, Tax ⊂ finance ⊂ all-staff; loop-a ⇄ loop-b; other group classes. */
const NESTED_LDIF = `dn: cn=finance,ou=groups,${BASE_DN}
objectClass: groupOfNames
cn: finance
member: ${groupDn('Accounting, Tax')}

dn: cn=all-staff,ou=groups,${BASE_DN}
objectClass: groupOfNames
cn: all-staff
member: cn=finance,ou=groups,${BASE_DN}

dn: cn=loop-a,ou=groups,${BASE_DN}
objectClass: groupOfNames
cn: loop-a
member: ${userDn('bob')}

dn: cn=loop-b,ou=groups,${BASE_DN}
objectClass: groupOfNames
cn: loop-b
member: cn=loop-a,ou=groups,${BASE_DN}

dn: cn=scanners,ou=groups,${BASE_DN}
objectClass: groupOfUniqueNames
cn: scanners
uniqueMember: ${userDn('bob')}

dn: cn=printers,ou=groups,${BASE_DN}
objectClass: posixGroup
cn: printers
gidNumber: 5000
memberUid: bob
`;

const CLOSE_LOOP = `dn: cn=loop-a,ou=groups,${BASE_DN}
changetype: modify
add: member
member: cn=loop-b,ou=groups,${BASE_DN}
`;

describe('OpenLDAP preset', () => {
  const slapd = new Slapd();
  before(async () => {
    await slapd.start();
    await slapd.seed();
    await slapd.ldapadd(NESTED_LDIF);
    await slapd.ldapadd(CLOSE_LOOP, true);
  });
  after(async () => slapd.destroy());

  const env = () => ({ GATEWAY_LDAP_PRESET: 'openldap', GATEWAY_LDAP_USER_BASE: USER_BASE });
  const all = ['Accounting, Tax', 'all-staff', 'finance', 'loop-a', 'loop-b', 'paperless-users', 'printers', 'scanners'];

  it('finds groupOfNames, groupOfUniqueNames and posixGroup memberships, nested ones walked, cycles guarded', async () => {
    assert.deepEqual(groupNames(await directory(slapd.url, env()).authenticate('bob', 'bob-pass')), all);
  });

  it('without nesting, only direct groups', async () => {
    const bob = await directory(slapd.url, { ...env(), GATEWAY_LDAP_NESTED_GROUPS: 'false' }).authenticate('bob', 'bob-pass');
    assert.deepEqual(groupNames(bob), ['Accounting, Tax', 'loop-a', 'paperless-users', 'printers', 'scanners']);
  });

  it('the depth limit stops the walk', async () => {
    const bob = await directory(slapd.url, { ...env(), GATEWAY_LDAP_NESTED_DEPTH: '2' }).authenticate('bob', 'bob-pass');
    assert.deepEqual(groupNames(bob), ['Accounting, Tax', 'finance', 'loop-a', 'loop-b', 'paperless-users', 'printers', 'scanners']);
  });

  it('memberOf mode walks the memberOf the overlay keeps on groups too', async () => {
    const bob = await directory(slapd.url, { ...env(), GATEWAY_LDAP_GROUP_MODE: 'memberof' }).authenticate('bob', 'bob-pass');
    assert.deepEqual(groupNames(bob), ['Accounting, Tax', 'all-staff', 'finance', 'loop-a', 'loop-b', 'paperless-users']);
  });

  it('lists every user in scope', async () => {
    const names: string[] = [];
    for await (const u of directory(slapd.url, { ...env(), GATEWAY_LDAP_PAGE_SIZE: '1' }).listUsers()) names.push(u.username);
    assert.deepEqual(names.sort(), ['alice', 'bob', 'carol']);
  });
});

/** FreeIPA keeps everything under cn=accounts of the domain's suffix. */
const IPA_BASE = BASE_DN;
const FREEIPA_SCHEMA = `attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 2.16.840.1.113719.1.301.4.45.1 NAME 'krbPasswordExpiration' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.1.1 NAME 'gatewayTestLockable' SUP top AUXILIARY MAY ( nsAccountLock $ krbPasswordExpiration ) )
`;

/** Five days from now at whole seconds, as FreeIPA writes krbPasswordExpiration. */
const IPA_EXPIRY = new Date(Math.floor(Date.now() / 1000) * 1000 + 5 * 86_400_000);
const generalizedTime = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

function ipaLdif(): string {
  const person = (uid: string, locked: boolean, expiry = IPA_EXPIRY) => `dn: uid=${uid},cn=users,cn=accounts,${IPA_BASE}
objectClass: inetOrgPerson
objectClass: gatewayTestLockable
uid: ${uid}
cn: ${uid}
sn: ${uid}
givenName: ${uid}
mail: ${uid}@example.com
userPassword: ${uid}-pass
krbPasswordExpiration: ${generalizedTime(expiry)}
${locked ? 'nsAccountLock: TRUE\n' : ''}`;
  return [
    `dn: ${IPA_BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: IPA\n`,
    `dn: cn=accounts,${IPA_BASE}\nobjectClass: organizationalRole\ncn: accounts\n`,
    `dn: cn=users,cn=accounts,${IPA_BASE}\nobjectClass: organizationalRole\ncn: users\n`,
    `dn: cn=groups,cn=accounts,${IPA_BASE}\nobjectClass: organizationalRole\ncn: groups\n`,
    `dn: uid=gateway,cn=users,cn=accounts,${IPA_BASE}\nobjectClass: account\nobjectClass: simpleSecurityObject\nuid: gateway\nuserPassword: gateway-pass\n`,
    person('ivy', false),
    person('lock', true),
    // As an admin's reset (`ipa user-mod --password`) leaves it: expired at the moment of the reset.
    person('reset', false, new Date(Date.now() - 60_000)),
    `dn: cn=paperless,cn=groups,cn=accounts,${IPA_BASE}\nobjectClass: groupOfNames\ncn: paperless\nmember: uid=ivy,cn=users,cn=accounts,${IPA_BASE}\nmember: uid=lock,cn=users,cn=accounts,${IPA_BASE}\n`,
  ].join('\n');
}

describe('FreeIPA preset (FreeIPA layout on slapd)', () => {
  const slapd = new Slapd({ schema: FREEIPA_SCHEMA });
  before(async () => {
    await slapd.start();
    await slapd.seed(ipaLdif());
  });
  after(async () => slapd.destroy());
  const env = () => ({
    GATEWAY_LDAP_PRESET: 'freeipa',
    GATEWAY_LDAP_BIND_DN: `uid=gateway,cn=users,cn=accounts,${IPA_BASE}`,
    GATEWAY_LDAP_BIND_PASSWORD: 'gateway-pass',
    GATEWAY_LDAP_USER_BASE: `cn=users,cn=accounts,${IPA_BASE}`,
  });

  it('signs in a FreeIPA user with groups from memberOf', async () => {
    const ivy = await directory(slapd.url, env()).authenticate('ivy', 'ivy-pass');
    assert.equal(ivy.email, 'ivy@example.com');
    assert.deepEqual(groupNames(ivy), ['paperless']);
  });

  it('reads when the password expires (krbPasswordExpiration), and changes it with RFC 3062 as the person', async () => {
    const d = directory(slapd.url, env());
    assert.equal((await d.authenticate('ivy', 'ivy-pass')).passwordExpiresAt, IPA_EXPIRY.getTime());
    await d.changePassword('ivy', 'ivy-pass', 'Ivy-Second-1');
    assert.equal((await d.authenticate('ivy', 'Ivy-Second-1')).username, 'ivy');
    await assert.rejects(d.changePassword('ivy', 'ivy-pass', 'Ivy-Third-1'), InvalidCredentialsError, 'the old password no longer works');
  });

  it('an expired krbPasswordExpiration, which FreeIPA lets LDAP binds through with, sends the person to the change', async () => {
    const d = directory(slapd.url, env());
    await assert.rejects(d.authenticate('reset', 'reset-pass'), (err: unknown) => err instanceof PasswordChangeRequiredError && err.reason === 'expired');
    await assert.rejects(d.authenticate('reset', 'wrong'), InvalidCredentialsError, 'only after the password is proved');
    await d.changePassword('reset', 'reset-pass', 'Reset-Second-1');
    // FreeIPA's password plugin moves the expiry on a change; slapd has no such plugin, so the test does.
    await slapd.ldapadd(`dn: uid=reset,cn=users,cn=accounts,${IPA_BASE}\nchangetype: modify\nreplace: krbPasswordExpiration\nkrbPasswordExpiration: ${generalizedTime(IPA_EXPIRY)}\n`, true);
    assert.equal((await d.authenticate('reset', 'Reset-Second-1')).username, 'reset');
  });

  it('refuses an account with nsAccountLock=TRUE, and lookup no longer finds it', async () => {
    const d = directory(slapd.url, env());
    await assert.rejects(d.authenticate('lock', 'lock-pass'), InvalidCredentialsError);
    assert.equal(await d.lookup('lock'), undefined);
  });
});

describe('LLDAP preset (LLDAP layout on slapd)', () => {
  const slapd = new Slapd({ memberOf: 'groupOfUniqueNames' });
  before(async () => {
    await slapd.start();
    await slapd.seed(
      [
        `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
        `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people\n`,
        `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups\n`,
        `dn: uid=admin,ou=people,${BASE_DN}\nobjectClass: inetOrgPerson\nuid: admin\ncn: admin\nsn: admin\nuserPassword: admin-pass\n`,
        `dn: uid=lena,ou=people,${BASE_DN}\nobjectClass: inetOrgPerson\nuid: lena\ncn: Lena L\nsn: L\ngivenName: Lena\ndisplayName: Lena L\nmail: lena@example.com\nuserPassword: lena-pass\n`,
        `dn: cn=paperless,ou=groups,${BASE_DN}\nobjectClass: groupOfUniqueNames\ncn: paperless\nuniqueMember: uid=lena,ou=people,${BASE_DN}\n`,
      ].join('\n'),
    );
  });
  after(async () => slapd.destroy());
  const env = (extra: Record<string, string> = {}) => ({
    GATEWAY_LDAP_PRESET: 'lldap',
    GATEWAY_LDAP_BIND_DN: `uid=admin,ou=people,${BASE_DN}`,
    GATEWAY_LDAP_BIND_PASSWORD: 'admin-pass',
    GATEWAY_LDAP_USER_BASE: `ou=people,${BASE_DN}`,
    ...extra,
  });

  it('signs in with groups from memberOf', async () => {
    const lena = await directory(slapd.url, env()).authenticate('Lena', 'lena-pass');
    assert.equal(lena.username, 'lena');
    assert.equal(lena.displayName, 'Lena L');
    assert.deepEqual(groupNames(lena), ['paperless']);
  });

  it('changes the password with RFC 3062, which LLDAP supports; no expiry to read', async () => {
    const d = directory(slapd.url, env());
    await d.changePassword('lena', 'lena-pass', 'Lena-Second-1');
    const lena = await d.authenticate('lena', 'Lena-Second-1');
    assert.equal(lena.passwordExpiresAt, undefined);
    await d.changePassword('lena', 'Lena-Second-1', 'lena-pass');
  });

  it('finds the same groups by search', async () => {
    const lena = await directory(slapd.url, env({ GATEWAY_LDAP_GROUP_MODE: 'search', GATEWAY_LDAP_GROUP_BASE: `ou=groups,${BASE_DN}` })).authenticate('lena', 'lena-pass');
    assert.deepEqual(groupNames(lena), ['paperless']);
  });
});

