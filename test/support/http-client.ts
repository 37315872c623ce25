import http from 'node:http';

/** Longer than any wait the gateway makes (its upstream and directory timeouts in tests are seconds). */
const ANSWER_TIMEOUT_MS = 60_000;

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  setCookies: string[];
}

export interface RequestOptions {
  /** Raw header pairs, sent exactly (duplicates and odd spellings included). */
  headers?: Array<[string, string]>;
  body?: string | Buffer;
  /** An address typed or opened from a bookmark: no Referer (see Browser). */
  typed?: boolean;
}

/**
 * A tiny cookie-keeping HTTP client: raw headers allowed, redirects never followed. A GET or HEAD
 * carries a Referer of the site's own origin, as a person following the site's links would send
 * (the gateway's logout reads it); `typed` sends none, and a Referer given in `headers` wins.
 */
export class Browser {
  readonly jar = new Map<string, string>();

  constructor(readonly base: string) {}

  cookieHeader(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const headers: string[] = [];
    const extra = options.headers ?? [];
    // With raw headers Node adds no Host of its own.
    if (!extra.some(([k]) => k.toLowerCase() === 'host')) headers.push('Host', url.host);
    if (this.jar.size && !extra.some(([k]) => k.toLowerCase() === 'cookie')) headers.push('Cookie', this.cookieHeader());
    const navigation = (method === 'GET' || method === 'HEAD') && !options.typed;
    if (navigation && !extra.some(([k]) => k.toLowerCase() === 'referer')) headers.push('Referer', `${url.origin}/`);
    for (const [k, v] of extra) headers.push(k, v);
    if (options.body !== undefined) headers.push('Content-Length', String(Buffer.byteLength(options.body)));
    return new Promise((resolve, reject) => {
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const setCookies = res.headers['set-cookie'] ?? [];
          this.absorb(setCookies);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString(), setCookies });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      // A gateway that never answers fails the test that asked, naming the request, instead of
      // holding its file (and CI) open until something outside kills it.
      req.setTimeout(ANSWER_TIMEOUT_MS, () => req.destroy(new Error(`no answer to ${method} ${path} within ${ANSWER_TIMEOUT_MS / 1000} s`)));
      req.end(options.body);
    });
  }

  get(path: string, options?: RequestOptions): Promise<Reply> {
    return this.request('GET', path, options);
  }

  post(path: string, form: Record<string, string>, options: RequestOptions = {}): Promise<Reply> {
    return this.request('POST', path, {
      ...options,
      headers: [['Content-Type', 'application/x-www-form-urlencoded'], ...(options.headers ?? [])],
      body: new URLSearchParams(form).toString(),
    });
  }

  /** Opens the login page and posts the form, like a person would. */
  async login(username: string, password: string, next?: string): Promise<Reply> {
    const page = await this.get(`/accounts/login/${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
    const nextField = /name="next" value="([^"]*)"/.exec(page.body)?.[1] ?? '';
    if (!csrf) throw new Error(`no CSRF token on the login page (status ${page.status})`);
    return this.post('/accounts/login/', { username, password, _csrf: csrf, next: decodeEntities(nextField) });
  }

  private absorb(setCookies: string[]): void {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = (pair ?? '').indexOf('=');
      const name = (pair ?? '').slice(0, eq).trim();
      const value = (pair ?? '').slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired) this.jar.delete(name);
      else this.jar.set(name, value);
    }
  }
}

function decodeEntities(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
