import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { KerberosConfig } from '../config/config.js';

/**
 * Settings laid over the machine's krb5.conf (MIT reads a list of files, the first winning): the
 * acceptor takes the service's name as configured, so a token never costs a DNS look-up of it, and
 * only for that host (a machine's file may say otherwise: another service's tickets would do); and
 * the clock skew is the gateway's, which the replay record's lifetime is made from (a wider one in
 * the machine's file would let a token outlive its record).
 */
function acceptorSettings(clockSkewMs: number): string {
  return `[libdefaults]\n  dns_canonicalize_hostname = false\n  rdns = false\n  ignore_acceptor_hostname = false\n  clockskew = ${Math.round(clockSkewMs / 1000)}\n`;
}

const PREFIX = 'gateway-kerberos-';

/** The keytab's bytes, however it was given. */
export function keytabBytes(config: Pick<KerberosConfig, 'keytab'>): Buffer {
  return 'file' in config.keytab ? readFileSync(config.keytab.file) : config.keytab.bytes;
}

/** Whether a process of this id runs (one of another user counts: it cannot be signalled, but runs). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The folders of gateways that stopped without undoing theirs (killed, or the machine lost power):
 * an inline keytab there is the service's key. Only this user's, of this host (the folder may be a
 * volume other containers share: their process ids mean nothing here), and only of a process that
 * no longer runs (the image's /tmp is in memory: a restarted container starts without them).
 */
function sweepLeftovers(parent: string, mine: string): void {
  for (const name of readdirSync(parent)) {
    // Exactly this host's: another whose name starts with this one's (gw and gw-2) is not.
    const pid = name.startsWith(mine) ? Number(/^(\d+)-[A-Za-z0-9]{6}$/.exec(name.slice(mine.length))?.[1] ?? NaN) : NaN;
    if (!Number.isSafeInteger(pid)) continue;
    const path = join(parent, name);
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info?.isDirectory() || info.uid !== process.getuid?.()) continue;
    if (!running(pid)) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * Points GSSAPI at the service's keytab, a writable replay cache and the settings above, for the
 * whole process: GSSAPI reads its environment (KRB5_KTNAME, KRB5RCACHEDIR, KRB5_CONFIG), which
 * every thread shares. The image's file system is read-only, and the default replay cache
 * (/var/tmp) is not writable there. A keytab given inline (GATEWAY_KERBEROS_KEYTAB) is written to
 * the same private folder (0700). Run by the main thread at start; returns what undoes it.
 */
export function useKeytab(config: KerberosConfig, env: NodeJS.ProcessEnv = process.env): () => void {
  // The host name keeps to letters, digits, dots and dashes, as a folder name may.
  const mine = `${PREFIX}${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-`;
  sweepLeftovers(config.replayCacheDir, mine);
  const dir = mkdtempSync(join(config.replayCacheDir, `${mine}${process.pid}-`));
  let file: string;
  if ('file' in config.keytab) file = config.keytab.file;
  else {
    file = join(dir, 'service.keytab');
    writeFileSync(file, config.keytab.bytes, { mode: 0o600 });
  }
  const conf = join(dir, 'krb5.conf');
  writeFileSync(conf, acceptorSettings(config.clockSkewMs), { mode: 0o600 });
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
