import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { SESSION_CACHE_MS } from '../src/session/sessions.js';
import { I18n, LANGUAGES } from '../src/web/i18n.js';
import { baseEnv } from './support/gateway.js';
import { Browser } from './support/http-client.js';
import { startStack, type Stack } from './support/stack.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alertText = (body: string) => /role="alert">([^<]+)</.exec(body)?.[1];
const h1 = (body: string) => /<h1>([^<]+)<\/h1>/.exec(body)?.[1];

describe('pages: languages', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(async () => stack?.stop());

  const expected = {
    en: { signIn: 'Sign in', wrong: 'Wrong username or password.', signedOut: 'You have been signed out.', unreachable: 'Paperless is unreachable' },
    de: { signIn: 'Anmelden', wrong: 'Benutzername oder Passwort ist falsch.', signedOut: 'Sie wurden abgemeldet.', unreachable: 'Paperless ist nicht erreichbar' },
    fr: { signIn: 'Se connecter', wrong: 'Nom d’utilisateur ou mot de passe incorrect.', signedOut: 'Vous avez été déconnecté.', unreachable: 'Paperless est injoignable' },
    es: { signIn: 'Iniciar sesión', wrong: 'Nombre de usuario o contraseña incorrectos.', signedOut: 'Se ha cerrado la sesión.', unreachable: 'No se puede acceder a Paperless' },
  };

  for (const [lang, header] of [
    ['en', 'en-GB,en;q=0.9'],
    ['de', 'de-AT,de;q=0.9,en;q=0.5'],
    ['fr', 'fr-CH, fr;q=0.9'],
    ['es', 'ja;q=1, es-MX;q=0.8'],
  ] as const) {
    it(`${lang}: chosen from Accept-Language "${header}": form, errors, signed-out notice, 502 page`, async () => {
      const b = stack.browser();
      const headers: Array<[string, string]> = [['Accept-Language', header]];
      const form = await b.get('/accounts/login/?loggedout=1', { headers });
      assert.match(form.body, new RegExp(`<html lang="${lang}">`));
      assert.equal(form.headers['content-language'], lang);
      assert.match(String(form.headers.vary), /Accept-Language/);
      assert.equal(h1(form.body), expected[lang].signIn);
      assert.match(form.body, new RegExp(`role="status">${expected[lang].signedOut}<`));
      const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
      const wrong = await b.post('/accounts/login/', { username: 'alice', password: 'nope', _csrf: csrf }, { headers });
      assert.equal(wrong.status, 401);
      assert.equal(alertText(wrong.body), expected[lang].wrong);

      await b.login('alice', 'alice-pass');
      const port = Number(new URL(stack.sim.url).port);
      await stack.sim.stop();
      try {
        const page = await b.get('/documents/', { headers });
        assert.equal(page.status, 502);
        assert.equal(h1(page.body), expected[lang].unreachable);
      } finally {
        await stack.sim.start(port);
      }
    });
  }

  it('a 503 page when Redis is down, in the language asked for', async () => {
    const b = stack.browser();
    await b.login('bob', 'bob-pass');
    await stack.redis.stop();
    try {
      await sleep(SESSION_CACHE_MS + 100);
      const page = await b.get('/documents/', { headers: [['Accept-Language', 'de']] });
      assert.equal(page.status, 503);
      assert.equal(h1(page.body), 'Dienst nicht verfügbar');
      assert.match(page.body, /Der Sitzungsspeicher \(Redis\) ist nicht erreichbar/);
    } finally {
      await stack.redis.start();
    }
  });
});

describe('pages: GATEWAY_LANGUAGE forces one language', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_LANGUAGE: 'fr' } });
  });
  after(async () => stack?.stop());

  it('whatever the browser asks for', async () => {
    const page = await stack.browser().get('/accounts/login/', { headers: [['Accept-Language', 'de,en;q=0.5']] });
    assert.match(page.body, /<html lang="fr">/);
    assert.equal(h1(page.body), 'Se connecter');
  });
});

describe('pages: branding', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'gw-brand-'));
  const logo = join(dir, 'acme.svg');
  before(async () => {
    writeFileSync(logo, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#7b1fa2"/></svg>');
    stack = await startStack({
      env: {
        GATEWAY_BRAND_TITLE: 'Acme <Docs>',
        GATEWAY_BRAND_LOGO: logo,
        GATEWAY_BRAND_ACCENT: '#7B1FA2',
        GATEWAY_BRAND_FOOTER: 'Forgot your password?',
        GATEWAY_BRAND_FOOTER_URL: 'https://id.example.com/reset',
      },
    });
  });
  after(async () => stack?.stop());

  it('title, logo, accent colour and footer link on the sign-in page, with the title escaped', async () => {
    const b = stack.browser();
    const page = await b.get('/accounts/login/');
    assert.match(page.body, /<title>Sign in · Acme &lt;Docs&gt;<\/title>/);
    assert.match(page.body, /<span class="brand-title">Acme &lt;Docs&gt;<\/span>/);
    assert.match(page.body, /<img class="logo" src="\/_gateway\/brand\/logo\.svg" alt="">/);
    assert.match(page.body, /<a href="https:\/\/id\.example\.com\/reset">Forgot your password\?<\/a>/);
    const css = await b.get('/_gateway/brand.css');
    assert.equal(css.status, 200);
    assert.match(css.body, /--accent: #7b1fa2;/);
    const served = await b.get('/_gateway/brand/logo.svg');
    assert.equal(served.status, 200);
    assert.match(String(served.headers['content-type']), /image\/svg\+xml/);
    assert.equal(served.body, readFileSync(logo, 'utf8'));
    assert.match(String(served.headers['content-security-policy']), /default-src 'none'/, 'a script inside the SVG could not run');
  });

  it('a logo URL is allowed by the page CSP for images only', async () => {
    const config = loadConfig({ ...baseEnv({ ldapUrl: 'ldap://x', redisUrl: 'redis://x', upstreamUrl: 'http://p', port: 1 }), GATEWAY_BRAND_LOGO: 'https://cdn.example.com/logo.png' });
    assert.deepEqual(config.web.brand.logo, { url: new URL('https://cdn.example.com/logo.png') });
  });

  it('refuses colours too light for white text, unreadable logos and unknown languages, naming each', () => {
    let problems = new Map<string, string>();
    try {
      loadConfig({
        ...baseEnv({ ldapUrl: 'ldap://x', redisUrl: 'redis://x', upstreamUrl: 'http://p', port: 1 }),
        GATEWAY_BRAND_ACCENT: '#ffeb3b',
        GATEWAY_BRAND_LOGO: join(dir, 'missing.png'),
        GATEWAY_LANGUAGE: 'klingon',
        GATEWAY_BRAND_FOOTER_URL: 'javascript:alert(1)',
      });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      problems = new Map(err.problems.map((p) => [p.variable, p.message]));
    }
    assert.match(problems.get('GATEWAY_BRAND_ACCENT') ?? '', /too light.*4\.5:1/);
    assert.match(problems.get('GATEWAY_BRAND_LOGO') ?? '', /cannot read the file/);
    assert.match(problems.get('GATEWAY_LANGUAGE') ?? '', /auto or one of en, de, fr, es/);
    assert.match(problems.get('GATEWAY_BRAND_FOOTER_URL') ?? '', /http:\/\/ or https:\/\//);
    // Checked across settings, so on its own (zod compares settings once each is valid).
    try {
      loadConfig({ ...baseEnv({ ldapUrl: 'ldap://x', redisUrl: 'redis://x', upstreamUrl: 'http://p', port: 1 }), GATEWAY_REMEMBER_ME_DURATION: '30m' });
      assert.fail('a remember-me duration shorter than the idle timeout was accepted');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.match(err.problems.find((p) => p.variable === 'GATEWAY_REMEMBER_ME_DURATION')?.message ?? '', /longer than GATEWAY_SESSION_IDLE_TIMEOUT/);
    }
  });
});

describe('pages: remember me', () => {
  let stack: Stack;
  before(async () => {
    // The lifetime as short as the settings allow (not below the idle timeout, whose records live whole seconds).
    stack = await startStack({ env: { GATEWAY_SESSION_IDLE_TIMEOUT: '1s', GATEWAY_SESSION_MAX_LIFETIME: '1s', GATEWAY_REMEMBER_ME_DURATION: '1m' } });
  });
  after(async () => stack?.stop());

  async function signIn(remember: boolean): Promise<Browser> {
    const b = stack.browser();
    const started = Date.now();
    const form = await b.get('/accounts/login/');
    assert.match(form.body, /name="remember" type="checkbox" value="1"/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const res = await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf, ...(remember ? { remember: '1' } : {}) });
    assert.equal(res.status, 303);
    const cookie = res.setCookies.find((c) => c.startsWith('gateway_session=')) ?? '';
    if (remember) {
      const expires = Date.parse(/Expires=([^;]+)/i.exec(cookie)?.[1] ?? '');
      assert.ok(expires >= started + 59_000 && expires <= Date.now() + 60_000, `a remembered cookie ends at sign-in + 1m: ${cookie}`);
    } else {
      assert.ok(cookie, 'a session cookie');
      assert.doesNotMatch(cookie, /Expires=|Max-Age=/i, 'without "remember me" the cookie ends with the browser');
    }
    return b;
  }

  const sessionCookieOf = (res: { setCookies: string[] }) => res.setCookies.find((c) => c.startsWith('gateway_session='));

  it("a remembered cookie's Expires stays at sign-in + duration, whatever is used; a plain one never gets one", async () => {
    const plain = await signIn(false);
    const plainAgain = sessionCookieOf(await plain.get('/accounts/login/'));
    assert.ok(plainAgain, 'the sign-in page, which express-session answers, sends the cookie again');
    assert.doesNotMatch(plainAgain, /Expires=|Max-Age=/i);
    const remembered = await signIn(true);
    const signedIn = Date.now();
    const firstEnd = /Expires=([^;]+)/i.exec(sessionCookieOf(await remembered.get('/accounts/login/')) ?? '')?.[1];
    assert.ok(firstEnd, 'sent again with its end');
    // Past the idle timeout (1 s, counted from the sign-in) and into a later second than firstEnd was
    // written in: Expires has whole seconds, so an end recomputed from now would read differently.
    await sleep(Math.max(signedIn + 1001, Math.ceil(Date.now() / 1000) * 1000 + 1) - Date.now());
    assert.equal((await remembered.get('/documents/')).status, 200);
    assert.equal(sessionCookieOf(await remembered.get('/documents/')), undefined, 'proxied requests never re-send it');
    const again = sessionCookieOf(await remembered.get('/accounts/login/'));
    assert.equal(/Expires=([^;]+)/i.exec(again ?? '')?.[1], firstEnd, 'not moved by a second of use');
  });

  it('a remembered session outlives the idle timeout and the usual lifetime; an unticked one does not', async () => {
    const remembered = await signIn(true);
    const plain = await signIn(false);
    // Past the idle timeout and the lifetime (1 s each) of both sessions, counted from the later sign-in:
    // the lifetime is counted in the gateway's memory, which shows nothing when it runs out.
    await sleep(1001);
    assert.equal((await remembered.get('/documents/')).status, 200);
    assert.equal((await plain.get('/documents/')).status, 302);
  });
});

describe('pages: without remember me configured', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ env: { GATEWAY_SESSION_IDLE_TIMEOUT: '1s', GATEWAY_SESSION_MAX_LIFETIME: '2s' } });
  });
  after(async () => stack?.stop());

  it('shows no box, and a posted remember=1 changes nothing', async () => {
    const b = stack.browser();
    const form = await b.get('/accounts/login/');
    assert.doesNotMatch(form.body, /name="remember"/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    assert.equal((await b.post('/accounts/login/', { username: 'alice', password: 'alice-pass', _csrf: csrf, remember: '1' })).status, 303);
    // Past the idle timeout (1 s from the sign-in): nothing in this process's view changes when it runs out.
    await sleep(1001);
    assert.equal((await b.get('/documents/')).status, 302);
  });
});

describe('pages: every message has a translation', () => {
  /** The English sentences a person can see: the templates' t("…") and the user-facing messages in src/. */
  function englishMessages(): Set<string> {
    const found = new Set<string>();
    for (const file of readdirSync(join(ROOT, 'views')).filter((f) => f.endsWith('.njk'))) {
      // t("…") and t('…') (inside attributes) alike: a message missed here would go untranslated unnoticed.
      for (const m of readFileSync(join(ROOT, 'views', file), 'utf8').matchAll(/t\((?:"([^"]+)"|'([^']+)')\)/g)) found.add((m[1] ?? m[2]) as string);
    }
    const sources = ['src/directory/errors.ts', 'src/directory/bind-errors.ts', 'src/provisioning/errors.ts', 'src/paperless/errors.ts', 'src/provisioning/lock.ts', 'src/provisioning/user-token.ts',
      'src/redis/errors.ts', 'src/proxy/errors.ts', 'src/web/errors.ts', 'src/web/login.ts', 'src/web/error-responses.ts', 'src/config/errors.ts',
      'src/mfa/errors.ts', 'src/mfa/sealed-box.ts', 'src/mfa/second-factors.ts', 'src/web/second-step.ts', 'src/web/account.ts', 'src/web/account-factors.ts', 'src/web/account-apps.ts', 'src/web/account-sessions.ts', 'src/web/account-password.ts', 'src/web/account-confirm.ts', 'src/mfa/app-passwords.ts', 'src/mfa/passkeys.ts', 'src/web/webauthn-form.ts', 'src/web/new-password-form.ts', 'src/kerberos/errors.ts', 'src/kerberos/keytab-entries.ts', 'src/kerberos/gssapi.ts', 'src/auth/credential-check.ts'];
    for (const file of sources) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // User-facing sentences: quoted, starting with a capital letter, ending with a full stop.
      for (const m of text.matchAll(/'([A-Z][^'\n]*\.)'/g)) found.add(m[1] as string);
      // The error page titles.
      for (const m of text.matchAll(/^\s+\d{3}: '([^']+)'/gm)) found.add(m[1] as string);
    }
    return found;
  }

  it('in German, French and Spanish, with no stale entries', () => {
    const english = englishMessages();
    assert.ok(english.size > 30, `found ${english.size} messages`);
    const i18n = new I18n();
    for (const lang of LANGUAGES.filter((l) => l !== 'en')) {
      const keys = new Set(i18n.keys(lang));
      assert.deepEqual([...english].filter((m) => !keys.has(m)), [], `${lang}: untranslated`);
      assert.deepEqual([...keys].filter((k) => !english.has(k) && k !== 'Error'), [], `${lang}: entries nothing uses`);
      const t = i18n.translator(lang);
      for (const m of english) assert.notEqual(t(m), '', `${lang}: empty translation of "${m}"`);
    }
  });
});
