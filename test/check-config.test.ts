import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { FactorStore } from '../src/mfa/factor-store.js';
import { MfaKeys } from '../src/mfa/mfa-keys.js';
import { redisKeys } from '../src/redis/keys.js';
import { runCliToEnd } from './support/gateway.js';
import { startStack, type Stack } from './support/stack.js';

describe('check-config against real dependencies', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ sim: { enableRemoteUserApi: true } });
  });
  after(async () => stack?.stop());

  it('a working setup: every check passes, exit 0', async () => {
    const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
    assert.equal(code, 0, stdout);
    for (const line of ['✔ Redis', '✔ directory: service account', '✔ directory: user search', '✔ Paperless API token: belongs to superuser gateway-admin', '✔ Paperless remote-user login', '✔ Paperless remote-user API']) {
      assert.ok(stdout.includes(line), `${line} in\n${stdout}`);
    }
  });

  it('second factors: warns when Redis does not persist, and fails when GATEWAY_MFA_KEY does not open the stored factors', async () => {
    const mfa = { ...stack.gateway.env, GATEWAY_MFA: 'optional', GATEWAY_MFA_KEY: '34'.repeat(32) };
    const first = await runCliToEnd(['check-config'], mfa);
    assert.equal(first.code, 0, first.stdout);
    assert.match(first.stdout, /! Redis persistence: append-only file off.*\n {4}fix: run Redis with --appendonly yes/);
    assert.match(first.stdout, /✔ GATEWAY_MFA_KEY: no second factors stored yet/);
    const redis = new Redis(stack.redis.url);
    try {
      await redis.config('SET', 'appendonly', 'yes');
      await new FactorStore(redis, redisKeys('gateway:'), new MfaKeys(Buffer.alloc(32, 0x34)).seal).update('alice', (record) => ({ record, result: undefined }));
      const same = await runCliToEnd(['check-config'], mfa);
      assert.match(same.stdout, /✔ Redis persistence: append-only file on/);
      assert.match(same.stdout, /✔ GATEWAY_MFA_KEY: the stored second factors open with it \(tried alice's\)/);
      const other = await runCliToEnd(['check-config'], { ...mfa, GATEWAY_MFA_KEY: '56'.repeat(32) });
      assert.equal(other.code, 1);
      assert.match(other.stdout, /✘ GATEWAY_MFA_KEY: .*\n {4}fix: put back the GATEWAY_MFA_KEY the factors were stored with/);
    } finally {
      await redis.config('SET', 'appendonly', 'no');
      redis.disconnect();
    }
  });

  it('Paperless API header mode off: a warning with the setting to change, still exit 0', async () => {
    stack.sim.options.enableRemoteUserApi = false;
    try {
      const { code, stdout } = await runCliToEnd(['check-config'], stack.gateway.env);
      assert.equal(code, 0);
      assert.match(stdout, /! Paperless remote-user API: .*\n {4}fix: set PAPERLESS_ENABLE_HTTP_REMOTE_USER_API=true/);
    } finally {
      stack.sim.options.enableRemoteUserApi = true;
    }
  });

  it('Paperless header login off, a wrong bind password, a non-superuser token: each named, exit 1', async () => {
    stack.sim.options.enableRemoteUserApi = false;
    stack.sim.options.enableRemoteUser = false;
    try {
      const { code, stdout } = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_LDAP_BIND_PASSWORD: 'wrong' });
      assert.equal(code, 1);
      assert.match(stdout, /✘ directory: service account: .*service account was refused/);
      assert.match(stdout, /✘ Paperless remote-user login: .*\n {4}fix: set PAPERLESS_ENABLE_HTTP_REMOTE_USER=true/);
    } finally {
      stack.sim.options.enableRemoteUser = true;
      stack.sim.options.enableRemoteUserApi = true;
    }
    stack.sim.addUser({ username: 'helper', user_permissions: ['view_uisettings'] });
    const { code, stdout } = await runCliToEnd(['check-config'], { ...stack.gateway.env, GATEWAY_PAPERLESS_TOKEN: stack.sim.tokenFor('helper') });
    assert.equal(code, 1);
    assert.match(stdout, /✘ Paperless API token: belongs to helper, who is not a superuser/);
  });
});
