import { readFileSync, statSync } from 'node:fs';

/**
 * The files settings name (`_FILE` secrets, the provisioning mapping, a logo): loading the
 * configuration reads them only through this, so parsing itself can be tested without a disk.
 * Errors carry Node's code (ENOENT, EACCES) for the message that names the variable.
 */
export interface ConfigFiles {
  read(path: string): string;
  size(path: string): number;
}

export const diskFiles: ConfigFiles = {
  read: (path) => readFileSync(path, 'utf8'),
  size: (path) => statSync(path).size,
};

/** A file error in words, with Node's code for searching: "no such file (ENOENT)". */
export function fileError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'it is a folder', ENOTDIR: 'a part of the path is not a folder' };
  return code ? `${words[code] ?? 'cannot be read'} (${code})` : String(err);
}
