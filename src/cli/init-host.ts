import type { HostFacts } from './env-file.js';

/** Paperless's image default user; also what root gets, since Paperless should not write files as root. */
const PAPERLESS_DEFAULT_ID = 1000;

const unlessRoot = (id: number | undefined) => (id === undefined || id === 0 ? PAPERLESS_DEFAULT_ID : id);

/** What init learns from the machine: its time zone (UTC when it cannot tell) and who runs it. */
export function hostFacts(): HostFacts {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return {
    timeZone: zone && zone !== 'Etc/Unknown' ? zone : 'UTC',
    uid: unlessRoot(process.getuid?.()),
    gid: unlessRoot(process.getgid?.()),
  };
}
