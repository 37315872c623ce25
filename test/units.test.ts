import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { parse as parseCookies } from 'cookie';
import { addressKey } from '../src/address-key.js';
import { ReservedUsernames } from '../src/auth/reserved-usernames.js';
import fc from 'fast-check';
import { AggregatorRegistry, Histogram, Registry } from 'prom-client';
import { parseDuration } from '../src/config/duration.js';
import { sameDn } from '../src/directory/dn.js';
import { escapeFilterValue, fillFilter } from '../src/directory/filter.js';
import { normalizeUsername } from '../src/directory/username.js';
import { drfAuthorization } from '../src/proxy/api-clients.js';
import { clientAddress, compileTrust } from '../src/proxy/client-address.js';
import { behindProxyingThread } from '../src/server/pages-messages.js';
import { djangoCookieName, parseSetCookie, rewriteCookies } from '../src/proxy/cookies.js';
import { stripIdentityHeaders } from '../src/proxy/identity-headers.js';
import { LineBatch } from '../src/ops/line-batch.js';
import { TalliedHistogram } from '../src/ops/tallied-histogram.js';
import { statusClass } from '../src/ops/metrics.js';
import { redisCall, RedisUnavailableError } from '../src/redis/errors.js';
import { redisKeys } from '../src/redis/keys.js';
import { CookieValues } from '../src/session/cookie-values.js';
import { safeNextPath } from '../src/web/next-path.js';

const ORIGIN = new URL('https://paperless.example.com');

/** The Latin-1 characters Python's own str.strip() removes (Django strips cookie names with it), asked of Python. */
function strippedByPython(): ReadonlySet<number> {
  const python = spawnSync('python3', ['-c', "import sys; sys.stdout.write(','.join(str(i) for i in range(256) if chr(i).strip() == ''))"], { encoding: 'utf8' });
  assert.equal(python.status, 0, python.stderr);
  const stripped = new Set(python.stdout.split(',').map(Number));
  assert.ok(stripped.has(0x85) && stripped.has(0x1c) && !stripped.has(0x00), 'Python answered');
  return stripped;
}

describe('next-path validation', () => {
  it('keeps same-origin paths with query and hash', () => {
    assert.equal(safeNextPath('/documents/?tags__id__all=3#x', ORIGIN), '/documents/?tags__id__all=3#x');
    assert.equal(safeNextPath('/', ORIGIN), '/');
  });
  it('refuses everything that could leave the site', () => {
    const bad = [
      '//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example', 'http:evil', 'javascript:alert(1)',
      '/%2F%2Fevil.example', '/%2fevil.example'.replace('/', '/%2F'), '%2F%2Fevil.example', '/%5Cevil.example', '/%255Cevil.example',
      '/\tevil', '/\nevil', '/%09/evil.example', '/%0d%0aSet-Cookie:x=y', 'documents', '', '/accounts/login/?next=/x', '/accounts/logout/',
      '/' + 'a'.repeat(3000), '/%E0%A4%A',
      // Safe as typed, `//evil.example` once the dot segments are resolved.
      '/.//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/./%2e//evil.example/x?y#z',
    ];
    for (const next of bad) assert.equal(safeNextPath(next, ORIGIN), undefined, JSON.stringify(next));
    assert.equal(safeNextPath(['/a'], ORIGIN), undefined);
    assert.equal(safeNextPath(undefined, ORIGIN), undefined);
  });
});

describe('identity header stripping', () => {
  it('removes every spelling of the configured header and nothing else', () => {
    const headers: IncomingHttpHeaders = { 'remote-user': 'a, b', remote_user: 'c', 'x-remote-user': 'keep', host: 'h' };
    assert.equal(stripIdentityHeaders(headers, 'Remote-User'), 2);
    assert.deepEqual(headers, { 'x-remote-user': 'keep', host: 'h' });
  });
  it('follows a custom header name', () => {
    const headers: IncomingHttpHeaders = { 'x-forwarded-user': 'a', x_forwarded_user: 'b', 'remote-user': 'c' };
    assert.equal(stripIdentityHeaders(headers, 'X-Forwarded-User'), 2);
    assert.deepEqual(headers, { 'remote-user': 'c' });
  });
});

describe('cookie removal', () => {
  it('drops only the named cookies, byte for byte, and adds the jar', () => {
    const headers: IncomingHttpHeaders = { cookie: 'a=1; gateway_session=s%3Ax; sessionid=abc; csrftoken=t' };
    rewriteCookies(headers, new Set(['gateway_session', 'sessionid']));
    assert.equal(headers.cookie, 'a=1; csrftoken=t');
    const only: IncomingHttpHeaders = { cookie: 'sessionid=abc' };
    rewriteCookies(only, new Set(['sessionid']));
    assert.equal(only.cookie, undefined);
    const jar: IncomingHttpHeaders = { cookie: 'csrftoken=t; sessionid=stolen' };
    rewriteCookies(jar, new Set(['sessionid']), { name: 'sessionid', value: 'kept' });
    assert.equal(jar.cookie, 'csrftoken=t; sessionid=kept');
  });

  it('rewrites any header as splitting on ; and keeping each non-blank chunk under a kept name would', () => {
    // The plain statement of the rule, which the one-pass rewrite must match on every header. A
    // chunk's name is Django's: before the first `=` ('' without one), stripped at both ends of
    // what Python's str.strip() removes. A header reaches Node as Latin-1, so nothing above \xff
    // is whitespace to Django (JavaScript's trim() would take \u3000 and \ufeff).
    const stripped = strippedByPython();
    const space = (c: string) => c.length === 1 && c.charCodeAt(0) < 256 && stripped.has(c.charCodeAt(0));
    const nameOf = (chunk: string) => {
      if (!chunk.includes('=')) return '';
      const chars = [...(chunk.split('=', 1)[0] as string)];
      while (chars.length > 0 && space(chars[0] as string)) chars.shift();
      while (chars.length > 0 && space(chars.at(-1) as string)) chars.pop();
      return chars.join('');
    };
    const byTheRule = (header: string | undefined, drop: ReadonlySet<string>, add?: { name: string; value: string }) => {
      const kept = (header ?? '').split(';').filter((chunk) => chunk.trim() !== '' && !drop.has(nameOf(chunk)));
      if (add) kept.push(`${kept.length ? ' ' : ''}${add.name}=${add.value}`);
      return kept.length === 0 ? undefined : kept.join(';');
    };
    const piece = fc.constantFrom('sessionid', 'gw', 'a', '=', '==', ';', '; ', ' ', '\t', '\u3000', '\ufeff', '\x85', '\xa0', '\x1c', 'v', '"x"');
    const header = fc.option(fc.array(piece, { maxLength: 20 }).map((parts) => parts.join('')), { nil: undefined });
    const add = fc.option(fc.record({ name: fc.constant('sessionid'), value: fc.stringMatching(/^[a-z0-9]{1,8}$/) }), { nil: undefined });
    fc.assert(
      fc.property(header, add, (cookie, jar) => {
        const headers: IncomingHttpHeaders = cookie === undefined ? {} : { cookie };
        rewriteCookies(headers, new Set(['sessionid', 'gw']), jar);
        assert.equal(headers.cookie, byTheRule(cookie, new Set(['sessionid', 'gw']), jar));
        assert.equal('cookie' in headers, headers.cookie !== undefined, 'no empty Cookie header left behind');
      }),
      { numRuns: 5000 },
    );
  });

  it("reads cookie names as Django does (Python's str.strip), not as JavaScript's trim", () => {
    for (const disguise of ['\x85', '\x1c', '\x1d', '\x1e', '\x1f', '\xa0', '\v', '\f', ' \t']) {
      assert.equal(djangoCookieName(`${disguise}sessionid${disguise}=abc`), 'sessionid', JSON.stringify(disguise));
      const headers: IncomingHttpHeaders = { cookie: `a=1;${disguise}sessionid=abc` };
      rewriteCookies(headers, new Set(['sessionid']));
      assert.equal(headers.cookie, 'a=1', JSON.stringify(disguise));
    }
    assert.equal(djangoCookieName('sessionid'), '', 'a chunk without = has an empty name in Django');
  });

  it("names every Latin-1 character at either end of a cookie name as Python's own str.strip() does", () => {
    // The oracle is Python itself: which of the 256 characters strip() removes.
    const stripped = strippedByPython();
    for (let code = 0; code < 256; code++) {
      if (code === 0x3d) continue; // '=' ends the name
      const c = String.fromCharCode(code);
      const gone = stripped.has(code);
      for (const [chunk, name] of [
        [`${c}sid=v`, gone ? 'sid' : `${c}sid`],
        [`sid${c}=v`, gone ? 'sid' : `sid${c}`],
        [`${c}${c}sid${c}=v`, gone ? 'sid' : `${c}${c}sid${c}`],
        [`${c}=v`, gone ? '' : c],
      ] as const) {
        assert.equal(djangoCookieName(chunk), name, `character ${code} in ${JSON.stringify(chunk)}`);
      }
    }
  });

  it('splits Authorization as DRF does, on ASCII whitespace only', () => {
    assert.deepEqual(drfAuthorization('Token abc'), { scheme: 'token', credentials: ['abc'] });
    assert.deepEqual(drfAuthorization('token\tabc'), { scheme: 'token', credentials: ['abc'] });
    assert.deepEqual(drfAuthorization('Token\u00a0abc'), { scheme: 'token\u00a0abc', credentials: [] }, 'no token to DRF');
    assert.deepEqual(drfAuthorization('Token\u0085abc').scheme, 'token\u0085abc');
    assert.deepEqual(drfAuthorization('Basic  YTpi '), { scheme: 'basic', credentials: ['YTpi'] });
  });

  it("reads Paperless's Set-Cookie lines, deletions included", () => {
    assert.deepEqual(parseSetCookie('sessionid=abc; expires=Tue, 22 Dec 2099 04:37:51 GMT; HttpOnly; Max-Age=1814400; Path=/; SameSite=Lax'), { name: 'sessionid', value: 'abc', deletes: false });
    assert.equal(parseSetCookie('sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/').deletes, true);
  });
});

describe('the session cookie read from a Cookie header', () => {
  // Pieces that make headers where the cookie package's choices matter: repeats, spaces, bad and good percent-encoding.
  const piece = fc.constantFrom('gw', 'gw ', ' gw', 'gw2', 'xgw', '=', ';', '; ', ' ', '\t', '%', '%3A', '%2F', '%E0%A4', '%ZZ', 's', ':', 'a.b', '"', 'é');
  const header = fc.array(piece, { maxLength: 24 }).map((parts) => parts.join(''));

  it("gives what the cookie package's own parse gives, remembered or not", () => {
    fc.assert(
      fc.property(header, (h) => {
        const values = new CookieValues('gw', 3);
        const expected = parseCookies(h)['gw'];
        assert.equal(values.of(h), expected);
        assert.equal(values.of(h), expected, 'the remembered decoding');
      }),
      { numRuns: 3000 },
    );
  });

  it('stays within its bound and still answers right when it starts over', () => {
    const values = new CookieValues('gw', 3);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10; i++) assert.equal(values.of(`a=1; gw=s%3Aid${i}.sig%2F; gw=second`), `s:id${i}.sig/`);
    }
    assert.equal(values.of(undefined), undefined);
    assert.equal(values.of('gw=%E0%A4'), '%E0%A4', 'not decodable: kept as it is');
    assert.ok((values as unknown as { decoded: Map<string, string> }).decoded.size <= 3);
  });
});

describe('the tallied histogram of proxied requests', () => {
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  /** The same observations into the gateway's histogram and into prom-client's own, each in a registry of its own. */
  const both = (observations: [string, number][]) => {
    const [ours, theirs] = [new Registry(), new Registry()];
    const tallied = new TalliedHistogram('status_class', { name: 'h_seconds', help: 'help', buckets, registers: [ours] });
    const plain = new Histogram({ name: 'h_seconds', help: 'help', labelNames: ['status_class'], buckets, registers: [theirs] });
    for (const [label, value] of observations) {
      tallied.record(label, value);
      plain.observe({ status_class: label }, value);
    }
    return { ours, theirs, tallied };
  };
  const observation = fc.tuple(fc.constantFrom('2xx', '3xx', '5xx'), fc.oneof(fc.constantFrom(...buckets, 0, 31), fc.double({ min: 0, max: 40, noNaN: true })));

  it("is exposed exactly as prom-client's own histogram, as text, as JSON and aggregated across workers", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(observation, { maxLength: 30 }), fc.array(observation, { maxLength: 30 }), async (first, second) => {
        const a = both(first);
        const b = both(second);
        assert.equal(await a.ours.metrics(), await a.theirs.metrics());
        // As a worker sends it to the primary: serialized.
        const json = async (r: Registry) => JSON.parse(JSON.stringify(await r.getMetricsAsJSON())) as unknown;
        assert.deepEqual(await json(a.ours), await json(a.theirs));
        const merged = async (x: Registry, y: Registry) => (await AggregatorRegistry.aggregate([await x.getMetricsAsJSON(), await y.getMetricsAsJSON()]).metrics());
        assert.equal(await merged(a.ours, b.ours), await merged(a.theirs, b.theirs));
      }),
      { numRuns: 300 },
    );
  });

  it('labels every status with its class', () => {
    for (const status of [0, 99, 100, 101, 199, 200, 204, 302, 404, 499, 500, 502, 599, 600, 999]) assert.equal(statusClass(status), `${Math.floor(status / 100)}xx`, String(status));
  });

  it('starts from nothing again when the registry is reset', async () => {
    const { ours, theirs } = both([['2xx', 0.2]]);
    ours.resetMetrics();
    theirs.resetMetrics();
    assert.equal(await ours.metrics(), await theirs.metrics());
  });
});

describe('LDAP filter escaping', () => {
  it('escapes the RFC 4515 specials so input cannot change the filter', () => {
    assert.equal(escapeFilterValue('a*b(c)d\\e\0f'), 'a\\2ab\\28c\\29d\\5ce\\00f');
    assert.equal(fillFilter('(&(objectClass=person)(uid={username}))', { username: 'admin*)(|(objectClass=*' }), '(&(objectClass=person)(uid=admin\\2a\\29\\28|\\28objectClass=\\2a))');
    assert.equal(fillFilter('(member={dn})', { dn: 'cn=a\\,b,dc=x' }), '(member=cn=a\\5c,b,dc=x)');
  });
});

describe('small parsers', () => {
  it('durations', () => {
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('12h'), 43_200_000);
    assert.equal(parseDuration('7d'), 604_800_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1.5h'), undefined);
    assert.equal(parseDuration('soon'), undefined);
  });
  it('usernames are NFC and lower case', () => {
    assert.equal(normalizeUsername(' ALICE '), 'alice');
    assert.equal(normalizeUsername('Jose\u0301'), 'jos\u00e9');
  });
  it('DNs compare case- and space-insensitively', () => {
    assert.ok(sameDn('CN=Paperless, OU=Groups,DC=Example,DC=com', 'cn=paperless,ou=groups,dc=example,dc=com'));
    assert.ok(!sameDn('cn=a\\,b,dc=x', 'cn=a,cn=b,dc=x'));
    assert.ok(sameDn('cn=Accounting\\2C Tax,ou=groups,dc=x', 'CN=accounting\\, tax, OU=Groups, DC=X'));
    assert.ok(sameDn('cn=a+uid=b,dc=x', 'UID=b+CN=a,dc=x'));
    assert.ok(!sameDn('cn=ab,dc=x', 'cn=a,dc=x'));
  });
});

describe('the key a client address is counted under', () => {
  it('IPv6 by its /64 in any spelling, IPv4-mapped as IPv4, IPv4 as itself', () => {
    const cases: Array<[string, string]> = [
      ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0002::1', '2001:db8:1:2::/64'],
      ['2001:db8:1:2::', '2001:db8:1:2::/64'],
      ['2001:db8::', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['2001:db8:1:2:3:4:10.0.0.1', '2001:db8:1:2::/64'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['10.0.0.1', '10.0.0.1'],
      ['not an address', 'not an address'],
    ];
    assert.deepEqual(cases.map(([ip]) => [ip, addressKey(ip)]), cases);
  });
});

describe('reserved usernames', () => {
  it('match in every spelling a database collation may take for the same row, and nothing else', () => {
    const reserved = new ReservedUsernames(['admin', 'gateway+service']);
    const hits = ['admin', 'ADMIN', 'ádmin', 'admín', 'admin ', 'ａｄｍｉｎ', 'gateway+service'];
    const misses = ['admins', 'adm in', 'bob', 'gateway service', 'gateway+servic'];
    assert.deepEqual(hits.filter((n) => !reserved.has(n)), []);
    assert.deepEqual(misses.filter((n) => reserved.has(n)), []);
  });
});

describe('GATEWAY_REDIS_URL forms', () => {
  it('parses single, Sentinel and Cluster URLs, and says what is wrong otherwise', async () => {
    const { parseRedisUrl } = await import('../src/config/redis-url.js');
    assert.deepEqual(parseRedisUrl('redis://redis:6379/2'), { kind: 'single', url: 'redis://redis:6379/2' });
    assert.deepEqual(parseRedisUrl('redis+sentinel://:s%40cret@s1:26379,s2/mymaster/3'), {
      kind: 'sentinel',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }],
      name: 'mymaster',
      db: 3,
      password: 's@cret',
    });
    assert.deepEqual(parseRedisUrl('redis+cluster://n1:7000,n2:7001'), { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
    assert.throws(() => parseRedisUrl('redis+sentinel://s1:26379'), /master name/);
    assert.throws(() => parseRedisUrl('redis+cluster://n1:7000/2'), /no database number/);
    assert.throws(() => parseRedisUrl('redis://a:1,b:2'), /one server/);
    assert.throws(() => parseRedisUrl('http://redis'), /must be redis:\/\//);
  });
});

describe('Redis: keys and failures', () => {
  it("a failure says what Redis was needed for, and passes the gateway's own errors through", async () => {
    const failing = (purpose: 'sessions' | 'regulation' | 'provisioning') => redisCall(purpose, 'doing it', () => Promise.reject(new Error('ECONNREFUSED')));
    const messages = new Set<string>();
    for (const purpose of ['sessions', 'regulation', 'provisioning'] as const) {
      const err = await failing(purpose).catch((e: unknown) => e);
      assert.ok(err instanceof RedisUnavailableError);
      assert.equal(err.status, 503);
      assert.equal(err.purpose, purpose);
      assert.match(err.message, /doing it: Error: ECONNREFUSED/);
      messages.add(err.userMessage);
    }
    assert.equal(messages.size, 3, 'each purpose has its own message');
    const own = new RedisUnavailableError('sessions', 'already known');
    assert.equal(await redisCall('regulation', 'x', () => Promise.reject(own)).catch((e: unknown) => e), own);
  });

  it('every key lives under the prefix, and no two purposes share a name', () => {
    const keys = redisKeys('p:');
    const names = [
      keys.session('s'),
      keys.paperlessSession('s'),
      keys.sessionEnded,
      keys.userSessions('s'),
      keys.regulationCounter('s'),
      keys.regulationBans,
      keys.regulationKnown('s', '1.2.3.4'),
      keys.provisioning('s'),
      keys.syncLock,
    ];
    for (const name of names) assert.ok(name.startsWith('p:'), name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(keys.session('abc'), `${keys.sessionPrefix}abc`, "connect-redis's prefix and ours agree");
  });
});

describe('access-line batching', () => {
  it('hands sonic-boom one buffer per batch, the rest on flush, and flushes the sink before exit', () => {
    const written: string[] = [];
    let synced = 0;
    const batch = new LineBatch({ write: (bytes) => written.push(bytes.toString('utf8')), flushSync: () => synced++ }, 3, 64);
    for (const n of [1, 2, 3, 4]) batch.write(`line ${n}\n`);
    assert.deepEqual(written, ['line 1\nline 2\nline 3\n'], 'three lines, one write; the fourth waits');
    batch.flush();
    batch.flush();
    assert.deepEqual(written, ['line 1\nline 2\nline 3\n', 'line 4\n'], 'the rest on flush, nothing for an empty batch');
    batch.write('line 5\n');
    batch.flushSync();
    assert.deepEqual(written.at(-1), 'line 5\n');
    // Bytes, not UTF-16 units, fill the buffer: a line that might not fit starts the next batch,
    // one larger than the buffer goes out alone, and every character arrives whole.
    written.length = 0;
    const wide = 'ü€😀'.repeat(3) + '\n';
    for (let n = 0; n < 3; n++) batch.write(wide);
    batch.write('x'.repeat(30) + '\n');
    batch.flush();
    assert.deepEqual(written, [wide, wide, wide, 'x'.repeat(30) + '\n'], 'each wide line in a batch of its own (two might not fit), every character whole, in order');
    written.length = 0;
    const long = 'y'.repeat(100) + '\n';
    batch.write('a\n');
    batch.write(long);
    assert.deepEqual(written, ['a\n', long], 'a line longer than the buffer: what waited first, then the line alone');
    batch.flush();
    assert.deepEqual(written, ['a\n', long], 'nothing left behind');
    assert.equal(synced, 1);
  });
});

describe('the pages thread sees the client the proxying thread sees', () => {
  // Every GATEWAY_TRUST_PROXY form, every chain a client or proxies can send, and any peer: the
  // pages thread's rule on the proxying thread's appended hop picks the same address.
  const octet = fc.integer({ min: 0, max: 255 });
  const address = fc.oneof(
    fc.tuple(fc.constantFrom(10, 127, 172, 192, 203), octet, octet, octet).map((parts) => parts.join('.')),
    fc.constantFrom('::1', 'fd00::7', '2001:db8::1'),
  );
  const setting = fc.oneof(
    fc.constant(false as const),
    fc.integer({ min: 1, max: 4 }),
    fc.subarray(['loopback', '10.0.0.0/8', '192.168.0.0/16', 'uniquelocal', '203.0.113.0/24'], { minLength: 1 }),
  );
  const request = (peer: string, forwarded: string | undefined) =>
    ({ headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded }, socket: { remoteAddress: peer }, connection: { remoteAddress: peer } }) as unknown as IncomingMessage;

  it('for random trust settings, peers and X-Forwarded-For chains', () => {
    fc.assert(
      fc.property(setting, address, fc.option(fc.array(address, { minLength: 1, maxLength: 5 }), { nil: undefined }), (trustProxy, peer, chain) => {
        const trust = compileTrust(trustProxy);
        const forwarded = chain?.join(', ');
        const direct = clientAddress(request(peer, forwarded), trust);
        const handedOver = clientAddress(request('127.0.0.1', forwarded ? `${forwarded}, ${peer}` : peer), behindProxyingThread(trust));
        assert.equal(handedOver, direct);
      }),
      { numRuns: Number(process.env.FC_RUNS ?? 2000) },
    );
  });
});
