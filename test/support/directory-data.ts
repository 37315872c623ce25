/** The demo and test directory: people, groups (one nested, one with an escaped comma) and a service account. */
export const BASE_DN = 'dc=example,dc=com';
export const ADMIN_DN = `cn=admin,${BASE_DN}`;
export const ADMIN_PASSWORD = 'admin-secret';
export const SERVICE_DN = `cn=gateway,ou=services,${BASE_DN}`;
export const SERVICE_PASSWORD = 'service-secret';
export const USER_BASE = `ou=people,${BASE_DN}`;
export const GROUP_BASE = `ou=groups,${BASE_DN}`;

export interface DemoUser {
  uid: string;
  password: string;
  givenName: string;
  sn: string;
  mail: string;
  groups: string[];
}

export const USERS: DemoUser[] = [
  { uid: 'alice', password: 'alice-pass', givenName: 'Alice', sn: 'Liddell', mail: 'alice@example.com', groups: ['paperless-users', 'paperless-admins'] },
  { uid: 'bob', password: 'bob-pass', givenName: 'Bob', sn: 'Builder', mail: 'bob@example.com', groups: ['paperless-users', 'Accounting, Tax'] },
  { uid: 'carol', password: 'carol-pass', givenName: 'Carol', sn: 'Outsider', mail: 'carol@example.com', groups: [] },
];

function escapeRdnValue(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, '\\$1');
}

export function groupDn(name: string): string {
  return `cn=${escapeRdnValue(name)},${GROUP_BASE}`;
}

export function userDn(uid: string): string {
  return `uid=${uid},${USER_BASE}`;
}

export function directoryLdif(users: DemoUser[] = USERS): string {
  const blocks = [
    `dn: ${BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example`,
    `dn: ou=people,${BASE_DN}\nobjectClass: organizationalUnit\nou: people`,
    `dn: ou=groups,${BASE_DN}\nobjectClass: organizationalUnit\nou: groups`,
    `dn: ou=services,${BASE_DN}\nobjectClass: organizationalUnit\nou: services`,
    `dn: ${SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: gateway\nuserPassword: ${SERVICE_PASSWORD}`,
    ...users.map(
      (u) =>
        `dn: ${userDn(u.uid)}\nobjectClass: inetOrgPerson\nuid: ${u.uid}\ncn: ${u.givenName} ${u.sn}\ngivenName: ${u.givenName}\nsn: ${u.sn}\ndisplayName: ${u.givenName} ${u.sn}\nmail: ${u.mail}\nuserPassword: ${u.password}`,
    ),
  ];
  const groupNames = [...new Set(users.flatMap((u) => u.groups))];
  for (const name of groupNames) {
    const members = users.filter((u) => u.groups.includes(name)).map((u) => `member: ${userDn(u.uid)}`);
    blocks.push(`dn: ${groupDn(name)}\nobjectClass: groupOfNames\ncn: ${name}\n${members.join('\n')}`);
  }
  return blocks.join('\n\n') + '\n';
}

/**
 * The same people and groups for the compose demo's OpenLDAP container, which creates the base
 * entry itself and loads custom LDIF with ldapmodify (hence `changetype: add`).
 */
export function composeDemoLdif(): string {
  return directoryLdif()
    .split('\n\n')
    .filter((block) => !block.startsWith(`dn: ${BASE_DN}\n`))
    .map((block) => block.replace(/^(dn: [^\n]+)\n/, '$1\nchangetype: add\n'))
    .join('\n\n');
}
