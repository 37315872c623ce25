/**
 * README is the administrator's manual, held to a budget: at most 1,000 lines, Performance at most
 * 80. What left it has a home (CONTRIBUTING.md, SECURITY.md, test/bench/HISTORY.md), every link
 * to a heading in the three documents resolves, and every `README: "X"` pointer in the code, the
 * templates, compose.yaml and the demo names a heading README has.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The lines of a Markdown text outside fenced code blocks (a `# comment` in a shell block is no heading). */
function proseLines(text: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker !== undefined) {
      if (fence === undefined) fence = marker;
      else if (fence === marker) fence = undefined;
      continue;
    }
    if (fence === undefined) out.push(line);
  }
  return out;
}

/** Heading texts, as written (inline code marks removed). */
function headings(text: string): Array<{ level: number; text: string }> {
  return proseLines(text).flatMap((line) => {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    return m ? [{ level: (m[1] as string).length, text: (m[2] as string).replace(/`/g, '') }] : [];
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(text)) {
    const base = slug(h.text);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of text.matchAll(/<a id="([^"]+)"><\/a>/g)) out.add(m[1] as string);
  return out;
}

/** The lines of one `## ` section, its heading included, up to the next `## `. */
function section(text: string, title: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`## ${title}`);
  assert.ok(start >= 0, `README has no "## ${title}"`);
  const next = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(start, next < 0 ? lines.length : next);
}

function files(dir: string): string[] {
  const full = join(ROOT, dir);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return [dir];
  return readdirSync(full, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const readme = read('README.md');

describe('README', () => {
  it('is a manual of at most 1,000 lines', () => {
    const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
    assert.ok(lines <= 1000, `README.md has ${lines} lines; move detail to CONTRIBUTING.md, SECURITY.md or test/bench/HISTORY.md`);
  });

  it('keeps Performance to 80 lines: how to run it, the targets, the latest table', () => {
    const perf = section(readme, 'Performance');
    assert.ok(perf.length <= 80, `Performance has ${perf.length} lines; the run history belongs in test/bench/HISTORY.md`);
    assert.ok(perf.some((l) => l.includes('npm run bench')), 'Performance says how to run the benchmark');
    assert.ok(perf.some((l) => l.startsWith('| target |')), 'Performance shows the targets');
    assert.ok(perf.some((l) => l.includes('test/bench/HISTORY.md')), 'Performance points at the history');
  });

  it('has the manual\'s sections, in order', () => {
    const want = ['Quick start', 'How it works', 'Production', 'Without Docker', 'Settings', 'Directories', 'Provisioning Paperless', 'Sign-in page', 'Passwords', 'Second factors', 'Apps and scripts', 'Paperless settings it needs', 'Endpoints', 'Sessions and logout', 'Security', 'Troubleshooting', 'Performance', 'Dependencies and why'];
    const got = headings(readme).filter((h) => h.level === 2).map((h) => h.text);
    assert.deepEqual(got, want);
    const production = headings(section(readme, 'Production').join('\n')).map((h) => h.text);
    for (const part of ['Docker Compose', 'HTTPS', "The directory's CA", 'PostgreSQL', 'Who sees which documents', 'Several replicas, Redis HA', 'Upgrading', 'Production checklist']) {
      assert.ok(production.includes(part), `Production has no "${part}"`);
    }
  });

  it('gives the systemd unit right after its marker', () => {
    const unit = /<!-- systemd unit -->\n```ini\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    for (const line of ['Type=simple', 'User=paperless-gateway', 'EnvironmentFile=/etc/paperless-ldap-gateway/env', 'ExecStart=/usr/bin/node /opt/paperless-ldap-gateway/dist/main.js serve', 'Restart=on-failure', 'NoNewPrivileges=yes', 'ProtectSystem=strict']) {
      assert.ok(unit.split('\n').includes(line), `the unit lacks ${line}`);
    }
  });

  it('does not give advice contract §9 disproves', () => {
    const row = readme.split('\n').find((l) => l.startsWith('| `PAPERLESS_TRUSTED_PROXIES`'));
    assert.ok(row, 'Paperless settings say what to do with PAPERLESS_TRUSTED_PROXIES');
    assert.match(row, /leave it unset/);
    assert.doesNotMatch(readme, /New users get a long random password/);
  });
});

describe('what left README has a home', () => {
  const homes: Array<[string, string[]]> = [
    ['CONTRIBUTING.md', ['## Development', '**The map.**', '## Two Paperless upstreams', '## The image, without Docker', '## Two threads in each process', '## Runtime dependencies, and why', '| `undici` 7 |']],
    ['SECURITY.md', ['## Invariants', '## Defences', '**The attack suite**', '## How failed sign-ins are counted', '| identity header |']],
    ['test/bench/HISTORY.md', ['## Every full run, side by side', '## Targets not met, by how much, and why', '## Where the time goes, and what was cut', '## After heavy use', '## Memory during large transfers', '## Memory over a soak']],
  ];
  for (const [file, phrases] of homes) {
    it(file, () => {
      assert.ok(existsSync(join(ROOT, file)), `${file} is missing`);
      const text = read(file);
      for (const phrase of phrases) assert.ok(text.includes(phrase), `${file} lacks ${phrase}`);
    });
  }
});

describe('links and pointers', () => {
  const docs = ['README.md', 'SECURITY.md', 'CONTRIBUTING.md'];

  it('every link to a heading resolves, in the document and across the three', () => {
    const known = new Map(docs.map((d) => [d, anchors(read(d))]));
    const broken: string[] = [];
    for (const doc of docs) {
      for (const line of proseLines(read(doc))) {
        for (const m of line.matchAll(/\]\(([A-Za-z./-]*)#([^)\s]+)\)/g)) {
          const target = m[1] === '' ? doc : (m[1] as string).replace(/^\.\//, '');
          const set = known.get(target);
          if (set === undefined) continue; // a file outside the three (test/bench/HISTORY.md, a URL)
          if (!set.has(m[2] as string)) broken.push(`${doc}: ${m[0]}`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every README: "X" pointer names a heading README has', () => {
    const names = new Set(headings(readme).map((h) => h.text));
    const sources = [...files('src'), ...files('views'), ...files('compose.yaml'), ...files('test/demo')];
    assert.ok(sources.length > 50, `found only ${sources.length} files to read`);
    const stale: string[] = [];
    let pointers = 0;
    for (const file of sources) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/README:? "([^"\n]+)"/g)) {
        pointers++;
        if (!names.has(m[1] as string)) stale.push(`${relative(ROOT, join(ROOT, file))}: README "${m[1]}"`);
      }
    }
    assert.ok(pointers >= 5, `found only ${pointers} pointers`);
    assert.deepEqual(stale, []);
  });
});
