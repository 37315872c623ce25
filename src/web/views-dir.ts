import { fileURLToPath } from 'node:url';

/** Templates, stylesheet and language catalogs ship beside dist/ (see package.json "files"). */
export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));
