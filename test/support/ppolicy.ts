import { BASE_DN } from './directory-data.js';
import { Slapd } from './slapd.js';

/** ppolicy: at least 8 characters, the last 3 not again, change required after an admin reset; `young`: not within an hour. */
export const PPOLICY_LDIF = `dn: ou=policies,${BASE_DN}
objectClass: organizationalUnit
ou: policies

dn: ${Slapd.POLICY_DN}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdMinLength: 8
pwdCheckQuality: 2
pwdInHistory: 3
pwdMustChange: TRUE
pwdAllowUserChange: TRUE

dn: cn=young,ou=policies,${BASE_DN}
objectClass: device
objectClass: pwdPolicy
cn: young
pwdAttribute: userPassword
pwdMinAge: 3600
pwdAllowUserChange: TRUE
`;

