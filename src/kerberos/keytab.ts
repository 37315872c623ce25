import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KerberosConfig } from '../config/config.js';

/**
 * Points GSSAPI at the service's keytab and at a writable replay cache, for the whole process:
 * GSSAPI reads its environment (KRB5_KTNAME, KRB5RCACHEDIR), which every thread shares. The image's
 * file system is read-only, and the default replay cache (/var/tmp) is not writable there. A keytab
 * given inline (GATEWAY_KERBEROS_KEYTAB) is written to a private file first. Run by the main thread
 * at start; returns what undoes it (the private file goes).
 */
export function useKeytab(config: KerberosConfig, env: NodeJS.ProcessEnv = process.env): () => void {
  let file: string;
  let dir: string | undefined;
  if ('file' in config.keytab) file = config.keytab.file;
  else {
    // mkdtemp makes the folder 0700: only the gateway's user reads the keys.
    dir = mkdtempSync(join(config.replayCacheDir, 'gateway-keytab-'));
    file = join(dir, 'service.keytab');
    writeFileSync(file, config.keytab.bytes, { mode: 0o600 });
  }
  env.KRB5_KTNAME = `FILE:${file}`;
  env.KRB5RCACHEDIR = config.replayCacheDir;
  return () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
}
