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
