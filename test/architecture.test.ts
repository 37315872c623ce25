/**
 * The map in CONTRIBUTING.md's Development section, kept true: each folder of src/ imports only from
 * folders below it, and nothing runs on import.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Top to bottom; a file may import from its own layer or any below it. */
const LAYERS = ['(entry)', 'cli', 'server', 'web', 'proxy', 'mfa', 'auth', 'kerberos', 'provisioning', 'paperless', 'session', 'directory', 'redis', 'ops', 'config', '(shared)'];

/** Files only ever run, never imported: the process's, and the pages thread's (a Worker's file). */
const ENTRY_POINTS = ['main.ts', 'server/pages-thread.ts'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function layerOf(file: string): string {
  const rel = relative(SRC, file);
  if (!rel.includes('/')) return rel === 'main.ts' || rel === 'app.ts' ? '(entry)' : '(shared)';
  return rel.split('/')[0] as string;
}

describe('architecture', () => {
  it('every folder of src/ is on the map, and imports only from folders below it', () => {
    const upward: string[] = [];
    for (const file of files(SRC)) {
      const from = layerOf(file);
      assert.ok(LAYERS.includes(from), `${relative(SRC, file)}: folder ${from} is not on CONTRIBUTING.md's map`);
      for (const [, target] of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        const to = layerOf(normalize(join(dirname(file), target as string)));
        if (LAYERS.indexOf(to) < LAYERS.indexOf(from)) upward.push(`${relative(SRC, file)} (${from}) imports ${target} (${to})`);
      }
    }
    assert.deepEqual(upward, []);
  });

  it('nothing starts on import: no timers, listeners or process hooks at module level', () => {
    const offenders: string[] = [];
    for (const file of files(SRC)) {
      if (ENTRY_POINTS.includes(relative(SRC, file))) continue; // an entry point itself starts its process or thread
      const topLevel = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^(setInterval|setTimeout|process\.on|process\.once|if \(cluster)/.test(line));
      for (const line of topLevel) offenders.push(`${relative(SRC, file)}: ${line.trim()}`);
    }
    assert.deepEqual(offenders, []);
  });

  it('no hidden module state: no module-level variables, registries or maps (constant sets aside)', () => {
    const offenders: string[] = [];
    for (const file of files(SRC)) {
      const lines = readFileSync(file, 'utf8').split('\n');
      // Top-level statements that are calls run on import (collectDefaultMetrics, listeners, ...).
      const state = lines.filter((line) => /^(let |var |(export )?const \w+ = new (?!Set\(\[)|[\w.]+\()/.test(line));
      for (const line of state) offenders.push(`${relative(SRC, file)}: ${line.trim()}`);
    }
    assert.deepEqual(offenders.filter((o) => !ENTRY_POINTS.some((entry) => o.startsWith(`${entry}:`))), []);
  });
});
