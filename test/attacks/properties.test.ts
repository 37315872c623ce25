/**
 * Property-based checks of the three functions an attacker talks to most
 * directly. FC_RUNS sets how many cases each property tries: 100,000 in the
 * suite, 1,000,000 with `npm run fuzz`.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { escapeFilterValue, fillFilter } from '../../src/directory/filter.js';
import { djangoKey, stripIdentityHeaders } from '../../src/proxy/identity-headers.js';
import { safeNextPath } from '../../src/web/next-path.js';

const RUNS = Number(process.env.FC_RUNS ?? 100_000);
const ORIGIN = new URL('https://paperless.example.com');

/** Any casing of "remote", any of `-`/`_` between, any casing of "user": what Django folds into HTTP_REMOTE_USER. */
const identitySpelling = fc
  .tuple(fc.mixedCase(fc.constant('remote')), fc.constantFrom('-', '_'), fc.mixedCase(fc.constant('user')))
  .map(([a, sep, b]) => `${a}${sep}${b}`);
const otherHeader = fc.stringMatching(/^[a-z][a-z0-9_-]{0,20}$/).filter((n) => djangoKey(n) !== 'REMOTE_USER');

describe('property: identity header stripping', () => {
  it('removes every spelling of the identity header and keeps everything else', () => {
    fc.assert(
      fc.property(fc.array(identitySpelling, { maxLength: 5 }), fc.dictionary(otherHeader, fc.string(), { maxKeys: 5 }), (spellings, others) => {
        const headers: IncomingHttpHeaders = { ...others };
        for (const s of spellings) headers[s.toLowerCase()] = 'attacker';
        stripIdentityHeaders(headers, 'Remote-User');
        assert.equal(Object.keys(headers).some((k) => djangoKey(k) === 'REMOTE_USER'), false);
        assert.deepEqual({ ...headers }, { ...others });
      }),
      { numRuns: RUNS },
    );
  });
});

describe('property: redirect validation', () => {
  const hostile = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.webUrl(),
    fc.constantFrom('//', '/\\', '\\\\', 'http:', 'https:', 'javascript:', '%2F', '%5C', '%09', '%0d%0a', '\t', '\n', '/%2F', '/%252F').chain((p) => fc.string({ maxLength: 20 }).map((rest) => `${p}${rest}`)),
    fc.string({ maxLength: 30 }).map((s) => `/${s}`),
    // Dot segments that resolve into `//host` only after URL resolution (`/.//evil`, `/a/..//evil`).
    fc
      .array(fc.constantFrom('/', '.', '..', '%2e', '%2E', '//', 'evil.example', 'a', '\\', '%2f'), { minLength: 1, maxLength: 8 })
      .map((parts) => `/${parts.join('')}`),
  );

  it('accepts only same-origin paths, whatever the input', () => {
    fc.assert(
      fc.property(hostile, (input) => {
        const out = safeNextPath(input, ORIGIN);
        if (out === undefined) return;
        assert.ok(out.startsWith('/') && !out.startsWith('//') && !out.includes('\\'), JSON.stringify(input));
        assert.doesNotMatch(out, /[\u0000-\u001f\u007f]/);
        assert.equal(new URL(out, ORIGIN).origin, ORIGIN.origin, JSON.stringify(input));
        // What a browser does with the Location header must stay here too.
        assert.equal(new URL(input, ORIGIN).origin, ORIGIN.origin, JSON.stringify(input));
      }),
      { numRuns: RUNS },
    );
  });
});

/** RFC 4515 unescaping: what a server does with an assertion value. */
function unescapeFilter(value: string): string {
  return Buffer.from(
    value.replace(/\\([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  ).toString('utf8');
}

describe('property: LDAP filter escaping', () => {
  it('escaped values contain no filter syntax and decode back to the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (input) => {
        const escaped = escapeFilterValue(input);
        assert.doesNotMatch(escaped, /[()*\u0000]/);
        assert.doesNotMatch(escaped.replace(/\\[0-9a-f]{2}/gi, ''), /\\/);
        assert.equal(unescapeFilter(Buffer.from(escaped, 'utf8').toString('latin1')), input);
      }),
      { numRuns: RUNS },
    );
  });

  it('a filled filter keeps its shape: one equality assertion, balanced parentheses', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (input) => {
        const filter = fillFilter('(&(objectClass=person)(uid={username}))', { username: input });
        const structural = filter.replace(/\\[0-9a-f]{2}/gi, '');
        assert.equal((structural.match(/\(/g) ?? []).length, 3);
        assert.equal((structural.match(/\)/g) ?? []).length, 3);
        assert.ok(filter.startsWith('(&(objectClass=person)(uid=') && filter.endsWith('))'));
      }),
      { numRuns: RUNS },
    );
  });
});
