/** Paperless's permission codenames and the Django app each model belongs to. */
const MODELS = [
  'document', 'tag', 'correspondent', 'documenttype', 'storagepath', 'savedview', 'paperlesstask',
  'applicationconfiguration', 'uisettings', 'logentry', 'note', 'mailaccount', 'mailrule', 'user', 'group',
  'sharelink', 'customfield', 'workflow', 'processedmail',
];

const withActions = (models: string[]) => models.flatMap((m) => ['add', 'change', 'delete', 'view'].map((a) => `${a}_${m}`));

export const ALL_CODENAMES = withActions(MODELS);

/** 3.x adds share-link bundles and two permissions of their own (contract §8). */
const CODENAMES_3 = [...ALL_CODENAMES, ...withActions(['sharelinkbundle']), 'view_global_statistics', 'view_system_monitoring'];

export function codenamesOf(line: 2 | 3): string[] {
  return line === 3 ? CODENAMES_3 : ALL_CODENAMES;
}

const APP_OF: Record<string, string> = {
  user: 'auth', group: 'auth', logentry: 'auditlog', mailaccount: 'paperless_mail', mailrule: 'paperless_mail',
  processedmail: 'paperless_mail', applicationconfiguration: 'paperless',
};

/** `view_user` → `auth.view_user`, as Django's get_all_permissions names them. */
export function qualified(codename: string): string {
  const model = codename.slice(codename.indexOf('_') + 1);
  return `${APP_OF[model] ?? 'documents'}.${codename}`;
}

/** The permission a model view needs for a method (DRF's DjangoModelPermissions, with view). */
export function codenameFor(method: string, model: string): string {
  const action = method === 'GET' ? 'view' : method === 'POST' ? 'add' : method === 'DELETE' ? 'delete' : 'change';
  return `${action}_${model}`;
}
