/**
 * Paperless has no endpoint that lists permissions; these are its codenames
 * (`<add|change|delete|view>_<model>`), from ../shared/paperless-contract.md §4 and §8. They
 * differ between release lines, so a mapping is checked twice: at load against every line
 * (a typo is an error at once), and against the line the gateway meets (detected from Paperless's
 * `X-Version`), before anything is written.
 */
const MODELS = [
  'document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'paperlesstask',
  'applicationconfiguration', 'uisettings', 'logentry', 'note', 'mailaccount', 'mailrule', 'user', 'group',
  'sharelink', 'customfield', 'workflow', 'processedmail',
] as const;
const ACTIONS = ['add', 'change', 'delete', 'view'] as const;

/** The release lines the gateway knows (Paperless-ngx 2.18+ and 3.x). */
export type PaperlessLine = 2 | 3;
export const PAPERLESS_LINES: readonly PaperlessLine[] = [2, 3];

/** Models and single permissions a line has beyond the common ones. */
const LINE_MODELS: Record<PaperlessLine, readonly string[]> = { 2: [], 3: ['sharelinkbundle'] };
const LINE_EXTRA: Record<PaperlessLine, readonly string[]> = { 2: [], 3: ['view_global_statistics', 'view_system_monitoring'] };

const withActions = (models: readonly string[]) => models.flatMap((m) => ACTIONS.map((a) => `${a}_${m}`));

/** Every codename a line has. */
export function permissionsOf(line: PaperlessLine): readonly string[] {
  return [...withActions([...MODELS, ...LINE_MODELS[line]]), ...LINE_EXTRA[line]];
}

/** The first line that has a codename, for the message when another line lacks it. */
function lineWith(codename: string): PaperlessLine | undefined {
  return PAPERLESS_LINES.find((line) => permissionsOf(line).includes(codename));
}

/** What the UI needs to load and to keep a person's own view settings. */
export const UI_PERMISSIONS = ['view_uisettings', 'add_uisettings', 'change_uisettings'];

const CONTENT = ['document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'note', 'sharelink', 'customfield'];

/** Shorthands a mapping file may use instead of listing codenames; what they mean depends on the line. */
function shorthands(line: PaperlessLine): Record<string, readonly string[]> {
  const content = [...CONTENT, ...LINE_MODELS[line]];
  return {
    viewer: [...UI_PERMISSIONS, ...content.map((m) => `view_${m}`)],
    editor: [...UI_PERMISSIONS, ...withActions(content)],
    all: permissionsOf(line),
  };
}

export const SHORTHAND_NAMES: readonly string[] = Object.keys(shorthands(2));

/** Entries no line knows: neither a shorthand nor a codename of any Paperless. */
export function unknownPermissions(entries: readonly string[]): string[] {
  return entries.filter((e) => !SHORTHAND_NAMES.includes(e) && lineWith(e) === undefined);
}

/** Expands shorthands for a line; `missing` holds the codenames this line lacks, each with the line that has it. */
export function expandPermissions(entries: readonly string[], line: PaperlessLine): { permissions: string[]; missing: Array<{ codename: string; line?: PaperlessLine }> } {
  const out = new Set<string>();
  const missing: Array<{ codename: string; line?: PaperlessLine }> = [];
  const known = permissionsOf(line);
  const short = shorthands(line);
  for (const entry of entries) {
    const expanded = short[entry];
    if (expanded) expanded.forEach((p) => out.add(p));
    else if (known.includes(entry)) out.add(entry);
    else missing.push({ codename: entry, ...(lineWith(entry) ? { line: lineWith(entry) } : {}) });
  }
  return { permissions: [...out].sort(), missing };
}

/** The line of a Paperless version ("3.0.5" → 3); an unknown version is taken as 2.x, whose catalogue is the narrower. */
export function lineOf(version: string | undefined): PaperlessLine {
  const major = Number(/^(\d+)\./.exec(version ?? '')?.[1]);
  return major >= 3 ? 3 : 2;
}
