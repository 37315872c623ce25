/**
 * Paperless has no endpoint that lists permissions; these are its codenames
 * (`<add|change|delete|view>_<model>`), from ../shared/paperless-contract.md §4.
 */
const MODELS = [
  'document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'paperlesstask',
  'applicationconfiguration', 'uisettings', 'logentry', 'note', 'mailaccount', 'mailrule', 'user', 'group',
  'sharelink', 'customfield', 'workflow', 'processedmail',
] as const;
const ACTIONS = ['add', 'change', 'delete', 'view'] as const;

/** Paperless 3.x only; accepted in the mapping so one file serves both versions. */
const EXTRA = ['view_global_statistics', 'view_system_monitoring'];

export const ALL_PERMISSIONS: readonly string[] = [...MODELS.flatMap((m) => ACTIONS.map((a) => `${a}_${m}`)), ...EXTRA];

/** What the UI needs to load and to keep a person's own view settings. */
export const UI_PERMISSIONS = ['view_uisettings', 'add_uisettings', 'change_uisettings'];

const CONTENT = ['document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'note', 'sharelink', 'customfield'];

/** Shorthands a mapping file may use instead of listing codenames. */
export const SHORTHANDS: Record<string, readonly string[]> = {
  viewer: [...UI_PERMISSIONS, ...CONTENT.map((m) => `view_${m}`)],
  editor: [...UI_PERMISSIONS, ...CONTENT.flatMap((m) => ACTIONS.map((a) => `${a}_${m}`))],
  all: ALL_PERMISSIONS.filter((p) => !EXTRA.includes(p)),
};

/** Expands shorthands; returns the codenames and every entry it did not know. */
export function expandPermissions(entries: readonly string[]): { permissions: string[]; unknown: string[] } {
  const out = new Set<string>();
  const unknown: string[] = [];
  for (const entry of entries) {
    const shorthand = SHORTHANDS[entry];
    if (shorthand) shorthand.forEach((p) => out.add(p));
    else if (ALL_PERMISSIONS.includes(entry)) out.add(entry);
    else unknown.push(entry);
  }
  return { permissions: [...out].sort(), unknown };
}
