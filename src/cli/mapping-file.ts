import type { InitAnswers } from './env-file.js';

/** A YAML scalar that reads back as exactly this text: YAML's double quotes take JSON's escapes. */
const yamlString = (value: string) => JSON.stringify(value);

/**
 * The Paperless group a directory group is put in: the same name. A DN is left to the mapping
 * loader, which names the group after its first RDN's value.
 */
function paperlessGroupLine(group: string): string[] {
  return group.includes('=') ? [] : [`    paperless: ${yamlString(group)}`];
}

/**
 * provisioning.yaml for the two groups init asked for: admins are superusers, users get viewer or
 * editor, and nobody else gets anything (the gateway lets nobody else sign in anyway).
 */
export function renderMappingFile(answers: Pick<InitAnswers, 'adminGroup' | 'userGroup' | 'userPermissions'>, now: Date = new Date()): string {
  const editor = answers.userPermissions === 'editor';
  return [
    `# paperless-ldap-gateway: what each directory group may do in Paperless. Written by`,
    `# \`paperless-ldap-gateway init\` on ${now.toISOString().slice(0, 10)}; the gateway reads it at start and applies it`,
    '# at every sign-in and `sync` (README: "Provisioning Paperless").',
    '',
    '# What every signed-in person gets directly: nothing beyond what the UI needs to load (the gateway',
    '# always adds view_uisettings, add_uisettings and change_uisettings). The groups below give the rest.',
    'permissions: []',
    '',
    'groups:',
    `  # Members of ${answers.adminGroup} are Paperless superusers: they see every document and`,
    '  # manage Paperless (users, groups, settings). Leaving the group takes that away at the next check.',
    `  - ldap: ${yamlString(answers.adminGroup)}`,
    ...paperlessGroupLine(answers.adminGroup),
    '    permissions: [all]',
    '    superuser: true',
    `  # Members of ${answers.userGroup} may sign in and use Paperless: ${
      editor ? 'editor = see, add, change and delete documents, tags, correspondents, ...' : 'viewer = see documents, tags, correspondents, ...'
    }`,
    `  # (${editor ? 'viewer' : 'editor'} instead: ${editor ? 'see only' : 'also add, change and delete'}). Paperless shows them a document when it has no owner,`,
    '  # when they own it, or when it is shared with them or with this Paperless group. How an office',
    '  # shares documents with a group: README, "Production", "Who sees which documents".',
    `  - ldap: ${yamlString(answers.userGroup)}`,
    ...paperlessGroupLine(answers.userGroup),
    `    permissions: [${answers.userPermissions}]`,
    '',
  ].join('\n');
}
