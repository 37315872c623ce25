/**
 * SECURITY.md names, for each invariant, the tests that hold it: each named file must exist and
 * each named test must be in it, so the threat model cannot point at a test that was renamed
 * or removed.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../', import.meta.url);
const doc = readFileSync(new URL('SECURITY.md', root), 'utf8');

/** Every "`test/x.test.ts` › name" (or a bare file) in the "held by" column of the invariant tables. */
function references(): Array<{ file: string; name?: string }> {
  const out: Array<{ file: string; name?: string }> = [];
  for (const line of doc.split('\n')) {
    if (!line.startsWith('|') || line.startsWith('|---') || line.startsWith('| invariant')) continue;
    const heldBy = line.split(' | ').at(-1) ?? '';
    // Each reference starts at a file; the names after it (each after "›") belong to it.
    for (const part of heldBy.split(/(?=`test\/)/)) {
      const file = /^`(test\/[^`]+\.ts)`/.exec(part)?.[1];
      if (!file) continue;
      const names = [...part.matchAll(/›\s*([^;›|]+)/g)].map((m) => (m[1] ?? '').trim());
      if (names.length === 0) out.push({ file });
      for (const name of names) out.push({ file, name });
    }
  }
  return out;
}

describe('SECURITY.md', () => {
  it('names tests that exist, in the files it says', () => {
    const refs = references();
    assert.ok(refs.length >= 30, `found only ${refs.length} references`);
    const missing: string[] = [];
    for (const { file, name } of refs) {
      const path = new URL(file, root);
      if (!existsSync(path)) {
        missing.push(`${file}: no such file`);
        continue;
      }
      if (name === undefined) continue;
      // A name may be cut short with "…", begin with a remark in parentheses (what a template
      // literal fills in) and end with one ("(both upstreams)").
      const bare = name.replace(/^\([^)]*\)\s*/, '').replace(/\s*\([^)]*\)\s*$/, '');
      const stem = bare.split('…').map((p) => p.trim()).sort((a, b) => b.length - a.length)[0] ?? '';
      const source = readFileSync(path, 'utf8').replace(/\\(['\\])/g, '$1');
      if (stem.length < 5 || !source.includes(stem)) missing.push(`${file} › ${name}`);
    }
    assert.deepEqual(missing, []);
  });
});
