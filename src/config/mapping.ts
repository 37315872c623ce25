import { type ConfigFiles, fileError } from './files.js';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { expandPermissions, UI_PERMISSIONS, unknownPermissions, type PaperlessLine } from './permissions.js';

/** One LDAP group (by name or DN) and what it means in Paperless. */
export interface GroupMapping {
  /** The directory group: a name (matched case-insensitively) or a DN (matched as RFC 4514 says). */
  ldap: string;
  /** The Paperless group the members are put in. */
  paperless: string;
  permissions: string[];
  superuser: boolean;
  staff: boolean;
}

/**
 * A mapping as the file says it: permission entries (codenames and shorthands) stay as written
 * until the Paperless line is known (`mappingForLine`), since shorthands and codenames differ by line.
 */
export interface ProvisioningMapping {
  /** Permissions every provisioned user gets directly (always includes the UI's own). */
  permissions: string[];
  /** Also create a Paperless group for every directory group the mapping does not name. */
  mirrorUnmappedGroups: boolean;
  groups: GroupMapping[];
}

const fileSchema = z
  .object({
    permissions: z.array(z.string()).default([]),
    mirror_unmapped_groups: z.boolean().default(false),
    groups: z
      .array(
        z
          .object({
            ldap: z.string().trim().min(1),
            paperless: z.string().trim().min(1).max(150).optional(),
            permissions: z.array(z.string()).default([]),
            superuser: z.boolean().default(false),
            staff: z.boolean().default(false),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** Without a file: nobody is mapped, and every user can at least load the UI. */
export const DEFAULT_MAPPING: ProvisioningMapping = { permissions: [...UI_PERMISSIONS].sort(), mirrorUnmappedGroups: false, groups: [] };

/** The last RDN's value of a DN, used only to name a Paperless group when the mapping gives a DN and no name. */
function lastRdnValue(dn: string): string {
  const first = dn.split(/(?<!\\),/)[0] ?? dn;
  return first.slice(first.indexOf('=') + 1).replace(/\\(.)/g, '$1').trim();
}

/** Parses and validates a mapping file; throws an Error listing every problem with its place in the file. */
export function parseMapping(text: string, source: string): ProvisioningMapping {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new Error(`${source} is not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; '));
  }
  const problems: string[] = [];
  const check = (entries: string[], where: string) => {
    for (const u of unknownPermissions(entries)) problems.push(`${where}: unknown permission "${u}" (use codenames like view_document, or viewer/editor/all)`);
    return [...new Set(entries)];
  };
  const data = parsed.data;
  const mapping: ProvisioningMapping = {
    permissions: [...new Set([...UI_PERMISSIONS, ...check(data.permissions, 'permissions')])].sort(),
    mirrorUnmappedGroups: data.mirror_unmapped_groups,
    groups: data.groups.map((g, i) => ({
      ldap: g.ldap,
      paperless: g.paperless ?? (g.ldap.includes('=') ? lastRdnValue(g.ldap) : g.ldap),
      permissions: check(g.permissions, `groups.${i}.permissions`),
      superuser: g.superuser,
      staff: g.staff || g.superuser,
    })),
  };
  if (problems.length > 0) throw new Error(problems.join('; '));
  return mapping;
}

/** A mapping names a permission that the Paperless the gateway talks to lacks. */
export class MappingVersionError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'MappingVersionError';
  }
}

/**
 * The mapping in codenames of one Paperless line (shorthands expanded as that line means them).
 * Throws MappingVersionError naming every permission the line lacks and the version met.
 */
export function mappingForLine(mapping: ProvisioningMapping, line: PaperlessLine, version: string): ProvisioningMapping {
  const problems: string[] = [];
  const expand = (entries: string[], where: string) => {
    const { permissions, missing } = expandPermissions(entries, line);
    for (const m of missing) {
      problems.push(`${where}: Paperless ${version} has no permission "${m.codename}"${m.line ? ` (it is a Paperless ${m.line}.x permission)` : ''}`);
    }
    return permissions;
  };
  const resolved: ProvisioningMapping = {
    permissions: expand(mapping.permissions, 'permissions'),
    mirrorUnmappedGroups: mapping.mirrorUnmappedGroups,
    groups: mapping.groups.map((g, i) => ({ ...g, permissions: expand(g.permissions, `groups.${i}.permissions`) })),
  };
  if (problems.length > 0) throw new MappingVersionError(problems);
  return resolved;
}

export function loadMapping(path: string | undefined, files: ConfigFiles): ProvisioningMapping {
  if (!path) return DEFAULT_MAPPING;
  let text: string;
  try {
    text = files.read(path);
  } catch (err) {
    throw new Error(`cannot read ${path}: ${fileError(err)}`);
  }
  return parseMapping(text, path);
}
