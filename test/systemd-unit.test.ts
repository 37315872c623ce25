/**
 * README's systemd unit ("Without Docker": the ```ini block after `<!-- systemd unit -->`), as an
 * admin copies it: systemd's own `systemd-analyze verify` finds nothing to say about it, it runs
 * what the install recipe installs, as the unprivileged user, with the settings file, and it is
 * hardened (`systemd-analyze security --offline`).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from './support/gateway.js';

const MARKER = '<!-- systemd unit -->';

/** The unit text README carries, or a failure saying where it belongs. */
function readmeUnit(): string {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(MARKER);
  assert.ok(at >= 0, `README.md has no systemd unit: put it in a \`\`\`ini block right after a line ${MARKER} in "Without Docker"`);
  const block = /^\s*```ini\n([\s\S]*?)\n```/.exec(readme.slice(at + MARKER.length));
  assert.ok(block?.[1], `the line ${MARKER} in README.md is followed by a \`\`\`ini block`);
  return `${block[1]}\n`;
}

/** Every value a key has in the unit (a key may repeat). */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
}

function analyze(args: string[]) {
  const res = spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { PATH: process.env.PATH, SYSTEMD_LOG_COLOR: '0', LANG: 'C.UTF-8' } });
  assert.equal(res.error, undefined, 'systemd-analyze is installed (the systemd package: npm run setup:debian)');
  return res;
}

describe("README's systemd unit", () => {
  const dir = mkdtempSync(join(tmpdir(), 'plg-systemd-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The unit as a file named as README says to install it; node from this machine if /usr/bin has none. */
  function unitFile(text: string, name = 'paperless-ldap-gateway.service'): string {
    const file = join(dir, name);
    writeFileSync(file, existsSync('/usr/bin/node') ? text : text.replaceAll('/usr/bin/node', process.execPath));
    return file;
  }

  it('passes systemd-analyze verify without a single warning', () => {
    const unit = readmeUnit();
    const named = /^# \/etc\/systemd\/system\/([\w.-]+\.service)$/m.exec(unit)?.[1];
    const res = analyze(['verify', unitFile(unit, named)]);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stderr.trim(), '', 'every warning is a mistake an admin would copy');
  });

  it('verify does complain about a mistake here (so the check above can fail)', () => {
    const broken = readmeUnit().replace(/^ProtectSystem=.*$/m, 'ProtectSystem=strcit');
    const res = analyze(['verify', unitFile(broken, 'broken.service')]);
    assert.match(res.stderr, /strcit/);
  });

  it('runs the installed gateway as paperless-gateway with the settings file, and restarts it on failure', () => {
    const unit = readmeUnit();
    assert.deepEqual(values(unit, 'Type'), ['simple'], 'the gateway does not notify systemd: simple');
    assert.deepEqual(values(unit, 'User'), ['paperless-gateway']);
    assert.deepEqual(values(unit, 'EnvironmentFile'), ['/etc/paperless-ldap-gateway/env']);
    assert.deepEqual(values(unit, 'ExecStart'), ['/usr/bin/node /opt/paperless-ldap-gateway/dist/main.js serve']);
    assert.deepEqual(values(unit, 'Restart'), ['on-failure']);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
  });

  it('is hardened: nothing writable, no new privileges, no home, a private /tmp', () => {
    const unit = readmeUnit();
    for (const [key, value] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
    ]) {
      assert.deepEqual(values(unit, key ?? ''), [value], `${key}=${value}`);
    }
    // V8 compiles code at run time: denying writable-executable memory would stop node.
    assert.deepEqual(values(unit, 'MemoryDenyWriteExecute').filter((v) => v === 'yes'), []);
    const res = analyze(['security', '--offline=yes', unitFile(unit)]);
    const level = /Overall exposure level for [\w.-]+: (\d+\.\d+)/.exec(res.stdout)?.[1];
    assert.ok(level, res.stdout + res.stderr);
    assert.ok(Number(level) <= 4, `exposure ${level} (systemd-analyze security): at most 4, "OK"; add the sandboxing the lines of this output marked ✗ name`);
  });
});
