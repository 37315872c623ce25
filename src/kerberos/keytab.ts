import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KerberosConfig } from '../config/config.js';

/**
 * Settings laid over the machine's krb5.conf (MIT reads a list of files, the first winning): the
 * acceptor takes the service's name as configured, so a token never costs a DNS look-up of it.
 */
const ACCEPTOR_SETTINGS = '[libdefaults]\n  dns_canonicalize_hostname = false\n  rdns = false\n';

/**
 * Points GSSAPI at the service's keytab, a writable replay cache and the settings above, for the
 * whole process: GSSAPI reads its environment (KRB5_KTNAME, KRB5RCACHEDIR, KRB5_CONFIG), which
 * every thread shares. The image's file system is read-only, and the default replay cache
 * (/var/tmp) is not writable there. A keytab given inline (GATEWAY_KERBEROS_KEYTAB) is written to
 * the same private folder (0700). Run by the main thread at start; returns what undoes it.
 */
export function useKeytab(config: KerberosConfig, env: NodeJS.ProcessEnv = process.env): () => void {
  const dir = mkdtempSync(join(config.replayCacheDir, 'gateway-kerberos-'));
  let file: string;
  if ('file' in config.keytab) file = config.keytab.file;
  else {
    file = join(dir, 'service.keytab');
    writeFileSync(file, config.keytab.bytes, { mode: 0o600 });
  }
  const conf = join(dir, 'krb5.conf');
  writeFileSync(conf, ACCEPTOR_SETTINGS, { mode: 0o600 });
  const before = { KRB5_KTNAME: env.KRB5_KTNAME, KRB5RCACHEDIR: env.KRB5RCACHEDIR, KRB5_CONFIG: env.KRB5_CONFIG };
  env.KRB5_KTNAME = `FILE:${file}`;
  // In the private folder: another local user cannot plant or read the cache in a shared /tmp.
  env.KRB5RCACHEDIR = dir;
  env.KRB5_CONFIG = `${conf}:${before.KRB5_CONFIG ?? '/etc/krb5.conf'}`;
  return () => {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    rmSync(dir, { recursive: true, force: true });
  };
}
