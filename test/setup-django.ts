/**
 * Makes the Django upstream's virtualenv (Paperless's pinned web and auth stack, from PyPI)
 * before the suite runs, so no test waits for pip. Kept in the user's cache folder.
 */
import { djangoVenv } from './support/django-upstream.js';

const started = Date.now();
const venv = djangoVenv();
process.stdout.write(`Django upstream virtualenv ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${venv}\n`);
