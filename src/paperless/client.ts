import http from 'node:http';
import https from 'node:https';
import { PaperlessApiError } from './errors.js';

/**
 * Who the gateway is when it asks Paperless: its API token, a user by the identity header, a
 * browser's Paperless session (logout: its cookies and the Host it was made for), an app's
 * headless session token (logout), or nobody.
 */
export type PaperlessCaller = { token: string } | { user: string; header: string } | { cookie: string; host?: string } | { sessionToken: string } | { anonymous: true };

export interface PaperlessAnswer {
  status: number;
  text: string;
}

const ATTEMPTS = 3;

/** API versions the gateway speaks: 9 is what 2.18+ and 3.x all accept; 10 is 3.x's own. */
const OLDEST_API_VERSION = 9;
const NEWEST_API_VERSION = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What Paperless said of itself: its release and the newest API version both sides know. */
export interface PaperlessVersions {
  paperlessVersion: string;
  apiVersion: number;
}

/**
 * The one HTTP client for the gateway's own calls to Paperless (provisioning, app sign-in,
 * token checks, readiness, logout, `check-config`): one timeout for the whole exchange, one
 * retry policy, one error type. Network errors and 5xx answers are retried with backoff when the
 * caller says the call may be repeated; every other answer is returned for the caller to read.
 * Redirects are not followed: Paperless redirecting a caller to its login page is an answer, not
 * a detour. node:http rather than fetch, because logout must send the browser's Host (fetch
 * replaces it), and Django checks it.
 */
export class PaperlessClient {
  /** Calls made, retries included (tests and `sync` report them). */
  calls = 0;
  /**
   * The API version sent: 9 until Paperless says (X-Api-Version, in every answer to a signed-in
   * call) that it knows a newer one, then the newest both sides know.
   */
  apiVersion = OLDEST_API_VERSION;
  /** Paperless's own version as its last signed-in answer gave it (X-Version), e.g. "3.0.5". */
  paperlessVersion?: string;
  private readonly agent: http.Agent;

  /** `countCall` hears each call's result ('ok', a status, 'network'), where the caller keeps a metric. */
  constructor(private readonly config: { url: URL; timeoutMs: number; countCall?: (result: string) => void }) {
    this.agent = new (config.url.protocol === 'https:' ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 32 });
  }

  async call(method: string, path: string, caller: PaperlessCaller, options: { body?: unknown; retry?: boolean } = {}): Promise<PaperlessAnswer> {
    const url = new URL(path, this.config.url);
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: http.OutgoingHttpHeaders = {
      ...('token' in caller ? { Authorization: `Token ${caller.token}` } : {}),
      ...('user' in caller ? { [caller.header]: caller.user } : {}),
      ...('cookie' in caller ? { Cookie: caller.cookie, ...(caller.host ? { Host: caller.host } : {}) } : {}),
      ...('sessionToken' in caller ? { 'X-Session-Token': caller.sessionToken } : {}),
      Accept: `application/json; version=${this.apiVersion}`,
      ...(body ? { 'Content-Type': 'application/json', 'Content-Length': body.length } : {}),
    };
    const attempts = options.retry ? ATTEMPTS : 1;
    let lastError: PaperlessApiError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(200 * 2 ** (attempt - 2));
      this.calls++;
      let answer: PaperlessAnswer;
      try {
        answer = await this.exchange(method, url, headers, body);
      } catch (err) {
        this.config.countCall?.('network');
        lastError = new PaperlessApiError(`Paperless API ${method} ${url.pathname} failed: ${(err as Error).message}`, undefined, { cause: err });
        continue;
      }
      this.config.countCall?.(answer.status >= 200 && answer.status < 300 ? 'ok' : String(answer.status));
      if (answer.status >= 500 && attempt < attempts) {
        lastError = new PaperlessApiError(`${method} ${url.pathname}: Paperless answered ${answer.status}: ${answer.text.slice(0, 300)}`, answer.status);
        continue;
      }
      return answer;
    }
    throw lastError as PaperlessApiError;
  }

  /** One request and its whole answer, within the timeout. */
  private exchange(method: string, url: URL, headers: http.OutgoingHttpHeaders, body: Buffer | undefined): Promise<PaperlessAnswer> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          clearTimeout(timer);
          this.hear(res.headers);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }

  /** Takes what Paperless says of its versions. */
  private hear(headers: http.IncomingHttpHeaders): void {
    this.take(headers['x-version'], Number(headers['x-api-version']));
  }

  /** What another thread's client heard from the same Paperless: this one speaks it from its first call. */
  adopt(versions: PaperlessVersions): void {
    this.take(versions.paperlessVersion, versions.apiVersion);
  }

  /** Anything malformed is ignored, never trusted. */
  private take(version: unknown, api: number): void {
    if (typeof version === 'string' && /^\d+\.\d+/.test(version)) this.paperlessVersion = version.slice(0, 40);
    if (Number.isInteger(api) && api >= OLDEST_API_VERSION) this.apiVersion = Math.min(api, NEWEST_API_VERSION);
  }

  close(): void {
    this.agent.destroy();
  }
}

/** An answer's body as JSON, or a clear error naming the call. */
export function jsonOf<T>(answer: PaperlessAnswer, what: string): T {
  try {
    return (answer.text ? JSON.parse(answer.text) : undefined) as T;
  } catch {
    throw new PaperlessApiError(`${what}: Paperless answered ${answer.status} with something other than JSON: ${answer.text.slice(0, 120)}`, answer.status);
  }
}
