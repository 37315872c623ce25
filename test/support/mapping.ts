import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAPPING = `# The mapping README documents, as the tests use it.
permissions: [viewer]
groups:
  - ldap: paperless-admins
    paperless: Admins
    permissions: [all]
    superuser: true
  - ldap: "cn=Accounting\\\\, Tax,ou=groups,dc=example,dc=com"
    paperless: Accounting
    permissions: [editor]
  - ldap: paperless-users
    paperless: Staff
    permissions: [viewer]
  - ldap: newcomers
    paperless: Newcomers
    permissions: [view_document]
`;

export function mappingFile(text = MAPPING): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-mapping-'));
  writeFileSync(join(dir, 'mapping.yaml'), text);
  return join(dir, 'mapping.yaml');
}
