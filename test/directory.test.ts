import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import type { DirectoryUser } from '../src/directory/directory.js';
import { DirectorySettingError, DirectoryUnavailableError, InvalidCredentialsError } from '../src/directory/errors.js';
import { LdapDirectory } from '../src/directory/ldap-directory.js';
import { sameDn } from '../src/directory/dn.js';
import { GROUP_BASE, groupDn, USER_BASE, userDn } from './support/directory-data.js';
import { baseEnv, freePort } from './support/gateway.js';
import { Slapd } from './support/slapd.js';

function directory(slapd: Slapd, env: Record<string, string> = {}): LdapDirectory {
  const config = loadConfig({
    ...baseEnv({ ldapUrl: slapd.url, redisUrl: 'redis://127.0.0.1:1', upstreamUrl: 'http://127.0.0.1:1', port: 1 }),
    GATEWAY_LDAP_CONNECT_TIMEOUT: '1s',
    ...env,
  });
  return new LdapDirectory(config.ldap);
}

const names = (u: DirectoryUser) => u.groups.map((g) => g.name).sort();

describe('LDAP directory against a real slapd', () => {
  const slapd = new Slapd({ tls: true });
  before(async () => {
    await slapd.start();
    await slapd.seed();
  });
  after(async () => slapd.destroy());

  it('authenticates and reads names, email and groups by group search', async () => {
    const user = await directory(slapd).authenticate('bob', 'bob-pass');
    assert.equal(user.username, 'bob');
    assert.equal(user.dn, userDn('bob'));
    assert.equal(user.email, 'bob@example.com');
    assert.equal(user.firstName, 'Bob');
    assert.equal(user.lastName, 'Builder');
    assert.equal(user.displayName, 'Bob Builder');
    assert.deepEqual(names(user), ['Accounting, Tax', 'paperless-users']);
    assert.ok(user.groups.some((g) => sameDn(g.dn, groupDn('Accounting, Tax'))), JSON.stringify(user.groups));
  });

  it('reads groups from memberOf when no group base is set, names from the group entries', async () => {
    const user = await directory(slapd, { GATEWAY_LDAP_GROUP_MODE: 'memberof' }).authenticate('bob', 'bob-pass');
    assert.deepEqual(names(user), ['Accounting, Tax', 'paperless-users']);
  });

  it('normalises the login name to the directory spelling in lower case', async () => {
    assert.equal((await directory(slapd).authenticate('  BoB ', 'bob-pass')).username, 'bob');
  });

  it('wrong password, unknown user and empty password are one error', async () => {
    const d = directory(slapd);
    for (const [u, p] of [['bob', 'wrong'], ['nobody', 'x'], ['bob', ''], ['', 'bob-pass']] as const) {
      await assert.rejects(d.authenticate(u, p), (err) => err instanceof InvalidCredentialsError && err.userMessage === 'Wrong username or password.', `${u}/${p}`);
    }
  });

  it('LDAP injection payloads never match anyone else', async () => {
    const d = directory(slapd);
    for (const payload of ['*', 'b*', '*)(uid=*', 'bob)(|(uid=*', 'admin*)(|(objectClass=*', 'bob\u0000', '\\2a', '(uid=bob)']) {
      await assert.rejects(d.authenticate(payload, 'bob-pass'), InvalidCredentialsError, JSON.stringify(payload));
      assert.equal(await d.lookup(payload), undefined, JSON.stringify(payload));
    }
  });

  it('a filter matching two entries is no match', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_USER_FILTER: '(|(uid={username})(uid=alice))' });
    await assert.rejects(d.authenticate('bob', 'bob-pass'), InvalidCredentialsError);
    const three = directory(slapd, { GATEWAY_LDAP_USER_FILTER: '(|(uid={username})(uid=alice)(uid=carol))' });
    await assert.rejects(three.authenticate('bob', 'bob-pass'), InvalidCredentialsError);
  });

  it('lookup returns current details, or nothing for an unknown user', async () => {
    const d = directory(slapd);
    assert.equal((await d.lookup('alice'))?.email, 'alice@example.com');
    assert.equal(await d.lookup('nobody'), undefined);
  });

  it('with GATEWAY_LDAP_USERNAME_ATTRIBUTE another attribute than the sign-in filter, lookups go by the Paperless name', async () => {
    // People sign in with uid; Paperless knows them by mail (e.g. for names outside Latin-1).
    const d = directory(slapd, { GATEWAY_LDAP_USERNAME_ATTRIBUTE: 'mail' });
    const signedIn = await d.authenticate('alice', 'alice-pass');
    assert.equal(signedIn.username, 'alice@example.com');
    assert.equal((await d.lookup(signedIn.username))?.dn, signedIn.dn, 'the re-check and sync find her by that name');
    assert.equal(await d.lookup('alice'), undefined, 'not by what she typed');
    for (const payload of ['*', 'alice@example.com)(uid=*', '*@example.com']) assert.equal(await d.lookup(payload), undefined, payload);
  });

  it('a refused service account is "directory unavailable", not a wrong password', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_BIND_PASSWORD: 'wrong' });
    await assert.rejects(d.authenticate('bob', 'bob-pass'), (err) => err instanceof DirectoryUnavailableError && /service account was refused/.test(err.message));
    await assert.rejects(d.check(), DirectoryUnavailableError);
  });

  it('an unreachable server is "directory unavailable"', async () => {
    const port = await freePort();
    const d = directory(slapd, { GATEWAY_LDAP_URL: `ldap://127.0.0.1:${port}` });
    await assert.rejects(d.authenticate('bob', 'bob-pass'), (err) => err instanceof DirectoryUnavailableError && err.userMessage.includes('unavailable'));
  });

  it('fails over to the next URL when the first does not answer', async () => {
    const port = await freePort();
    const d = directory(slapd, { GATEWAY_LDAP_URL: `ldap://127.0.0.1:${port}, ${slapd.url}` });
    assert.equal((await d.authenticate('alice', 'alice-pass')).username, 'alice');
  });

  it('speaks ldaps:// with a CA file', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_URL: slapd.ldapsUrl, GATEWAY_LDAP_CA_FILE: slapd.caFile });
    assert.equal((await d.authenticate('alice', 'alice-pass')).username, 'alice');
  });

  it('speaks StartTLS with a CA file', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_STARTTLS: 'true', GATEWAY_LDAP_CA_FILE: slapd.caFile });
    assert.equal((await d.authenticate('alice', 'alice-pass')).username, 'alice');
  });

  it('refuses a server certificate it cannot verify', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_URL: slapd.ldapsUrl });
    await assert.rejects(d.authenticate('alice', 'alice-pass'), DirectoryUnavailableError);
  });

  it('skips certificate verification only when told to', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_URL: slapd.ldapsUrl, GATEWAY_LDAP_TLS_SKIP_VERIFY: 'true' });
    assert.equal((await d.authenticate('alice', 'alice-pass')).username, 'alice');
  });

  it('checks the certificate against GATEWAY_LDAP_TLS_SERVER_NAME', async () => {
    const wrong = directory(slapd, { GATEWAY_LDAP_URL: slapd.ldapsUrl, GATEWAY_LDAP_CA_FILE: slapd.caFile, GATEWAY_LDAP_TLS_SERVER_NAME: 'ldap.other.example' });
    await assert.rejects(wrong.authenticate('alice', 'alice-pass'), DirectoryUnavailableError);
    const right = directory(slapd, { GATEWAY_LDAP_URL: slapd.ldapsUrl, GATEWAY_LDAP_CA_FILE: slapd.caFile, GATEWAY_LDAP_TLS_SERVER_NAME: 'localhost' });
    assert.equal((await right.authenticate('alice', 'alice-pass')).username, 'alice');
  });

  it('missingGroups names the allowed groups that match no group under the group base (names any case, DNs as RFC 4514 compares them)', async () => {
    const d = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: GROUP_BASE });
    assert.deepEqual(await d.missingGroups([]), []);
    const asked = [
      'PAPERLESS-users',
      'paperless-admins',
      'paperless-user', // a typo
      'Accounting, Tax',
      'CN=Accounting\\2C Tax, OU=Groups,DC=example,DC=com', // the same group as another spelling of its DN
      groupDn('paperless-auditors'), // no such group
      userDn('alice'), // an entry, but not a group
      'cn=paperless-users,ou=people,dc=example,dc=com', // outside the group base
    ];
    assert.deepEqual(await d.missingGroups(asked), ['paperless-user', groupDn('paperless-auditors'), userDn('alice'), 'cn=paperless-users,ou=people,dc=example,dc=com']);
    const narrow = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: 'ou=people,dc=example,dc=com' });
    assert.deepEqual(await narrow.missingGroups(['paperless-users', groupDn('paperless-users')]), ['paperless-users', groupDn('paperless-users')], 'groups outside the group base are missing');
    const typo = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: 'ou=grops,dc=example,dc=com' });
    await assert.rejects(typo.missingGroups(['paperless-users']), (err) => err instanceof DirectorySettingError && /^GATEWAY_LDAP_GROUP_BASE "ou=grops,dc=example,dc=com" does not exist in the directory/.test(err.detail));
    const down = directory(slapd, { GATEWAY_LDAP_URL: `ldap://127.0.0.1:${await freePort()}` });
    await assert.rejects(down.missingGroups(['paperless-users']), DirectoryUnavailableError);
  });

  it('missingGroups knows groups of the object class GATEWAY_LDAP_GROUP_FILTER names, not only the presets\' classes', async () => {
    // Roles as groups: organizationalRole (core schema), its members in roleOccupant.
    await slapd.ldapadd(`dn: cn=paperless-roles,${GROUP_BASE}\nobjectClass: organizationalRole\ncn: paperless-roles\nroleOccupant: ${userDn('alice')}\n`);
    const roles = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: GROUP_BASE, GATEWAY_LDAP_GROUP_FILTER: '(&(objectClass=organizationalRole)(roleOccupant={dn}))' });
    assert.deepEqual(await roles.missingGroups(['paperless-roles', groupDn('paperless-roles'), 'paperless-users']), ['paperless-users'], 'a groupOfNames is no group where the filter names roles');
    assert.deepEqual((await roles.authenticate('alice', 'alice-pass')).groups.map((g) => g.name), ['paperless-roles']);
    const excluding = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: GROUP_BASE, GATEWAY_LDAP_GROUP_FILTER: '(&(objectClass=organizationalRole)(!(objectClass=groupOfNames))(roleOccupant={dn}))' });
    assert.deepEqual(await excluding.missingGroups(['paperless-roles', 'paperless-users']), ['paperless-users'], 'a class the filter excludes is no group class');
    // A filter that names no class: the presets' classes, so a person's entry is still no group.
    const classless = directory(slapd, { GATEWAY_LDAP_GROUP_BASE: GROUP_BASE, GATEWAY_LDAP_GROUP_FILTER: '(member={dn})' });
    assert.deepEqual(await classless.missingGroups(['paperless-users', 'paperless-roles', userDn('alice')]), ['paperless-roles', userDn('alice')]);
  });

  it('uses the configured bases', () => {
    assert.equal(USER_BASE, 'ou=people,dc=example,dc=com');
    assert.equal(GROUP_BASE, 'ou=groups,dc=example,dc=com');
  });
});
