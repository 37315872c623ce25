import type { LdapConfig } from '../config/config.js';
import type { Directory } from '../directory/directory.js';

/** One thing init tried in the directory, and how to fix it when it failed. */
export interface ProbeStep {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** The groups init asked for, by the option that named each. */
export interface ProbedGroups {
  'admin-group': string;
  'user-group': string;
}

/** The settings init writes from its options: a fix that names a setting names the option too. */
const OPTION_OF: Record<string, string> = {
  GATEWAY_LDAP_URL: '--ldap-url',
  GATEWAY_LDAP_CA_FILE: '--ca-file',
  GATEWAY_LDAP_BIND_DN: '--bind-dn',
  GATEWAY_LDAP_BIND_PASSWORD: '--bind-password',
  GATEWAY_LDAP_USER_BASE: '--user-base',
};

function withOptions(fix: string): string {
  const options = Object.entries(OPTION_OF).filter(([setting]) => fix.includes(setting)).map(([, option]) => option);
  return options.length > 0 ? `${fix} (init: ${options.join(', ')})` : fix;
}

/** The directory's own fix when its error carries one (a setting that does not fit), else ours. */
function failed(name: string, err: unknown, fallbackFix: string): ProbeStep {
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && 'detail' in err && 'fix' in err && typeof err.detail === 'string' && typeof err.fix === 'string') {
    return { name, ok: false, detail: err.detail, fix: withOptions(err.fix) };
  }
  return { name, ok: false, detail, fix: fallbackFix };
}

/**
 * What the gateway will do first with these settings, tried once: bind the service account, search
 * the user base, find both groups. Stops after a failed bind: nothing else can work without it.
 */
export async function probeDirectory(directory: Directory, ldap: LdapConfig, groups: ProbedGroups): Promise<ProbeStep[]> {
  const steps: ProbeStep[] = [];
  try {
    await directory.check();
    steps.push({ name: 'service account and search bases', ok: true, detail: `${ldap.bindDn} signed in to ${ldap.urls.join(', ')}` });
  } catch (err) {
    steps.push(failed('service account and search bases', err, 'check --ldap-url, --bind-dn and --bind-password (and --ca-file for ldaps://)'));
    return steps;
  }
  try {
    // A name nobody has: the search itself is what is tried, not who it finds.
    await directory.lookup('paperless-ldap-gateway-init-check');
    steps.push({ name: 'user search', ok: true, detail: `searched ${ldap.userBase}` });
  } catch (err) {
    steps.push(failed('user search', err, 'check --user-base, and that the service account may search there'));
  }
  try {
    const missing = new Set(await directory.missingGroups([groups['admin-group'], groups['user-group']]));
    for (const [flag, name] of Object.entries(groups)) {
      steps.push(
        missing.has(name)
          ? {
              name: `--${flag}`,
              ok: false,
              detail: `no group "${name}" under ${ldap.groupBase}`,
              fix: `check the spelling of --${flag}: the group's name (its ${ldap.groupNameAttribute}) or its DN, as the directory has it`,
            }
          : { name: `--${flag}`, ok: true, detail: `found the group "${name}"` },
      );
    }
  } catch (err) {
    steps.push(failed('groups', err, 'check that the service account may search under GATEWAY_LDAP_GROUP_BASE'));
  }
  return steps;
}

/** The steps as init prints them: each one, its result and, when it failed, its fix. */
export function describeSteps(steps: readonly ProbeStep[]): string {
  return steps.map((s) => `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name}: ${s.detail}${s.fix ? `\n       fix: ${s.fix}` : ''}`).join('\n');
}
