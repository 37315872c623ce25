import { PaperlessApiError } from './errors.js';

/** Who the gateway is when it asks Paperless: its API token, a user by the identity header, or nobody. */
export type PaperlessCaller = { token: string } | { user: string; header: string } | { anonymous: true };

export interface PaperlessAnswer {
  status: number;
  text: string;
}

const ATTEMPTS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The one HTTP client for the gateway's own calls to Paperless (provisioning, app sign-in,
 * token checks, `check-config`): one timeout, one retry policy, one error type. Network errors
 * and 5xx answers are retried with backoff when the caller says the call may be repeated; every
 * other answer is returned for the caller to read. Redirects are not followed: Paperless
 * redirecting a caller to its login page is an answer, not a detour.
 */
export class PaperlessClient {
  /** Calls made, retries included (tests and `sync` report them). */
  calls = 0;

  /** `countCall` hears each call's result ('ok', a status, 'network'), where the caller keeps a metric. */
  constructor(private readonly config: { url: URL; timeoutMs: number; countCall?: (result: string) => void }) {}

  async call(method: string, path: string, caller: PaperlessCaller, options: { body?: unknown; retry?: boolean } = {}): Promise<PaperlessAnswer> {
    const url = new URL(path, this.config.url);
    const attempts = options.retry ? ATTEMPTS : 1;
    let lastError: PaperlessApiError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(200 * 2 ** (attempt - 2));
      this.calls++;
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: {
            ...('token' in caller ? { Authorization: `Token ${caller.token}` } : {}),
            ...('user' in caller ? { [caller.header]: caller.user } : {}),
            Accept: 'application/json; version=9',
            ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }),
          },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
          redirect: 'manual',
          signal: AbortSignal.timeout(this.config.timeoutMs),
        });
      } catch (err) {
        this.config.countCall?.('network');
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${this.config.timeoutMs} ms` : String(err);
        lastError = new PaperlessApiError(`Paperless API ${method} ${url.pathname} failed: ${why}`, undefined, { cause: err });
        continue;
      }
      const text = await res.text();
      this.config.countCall?.(res.ok ? 'ok' : String(res.status));
      if (res.status >= 500 && attempt < attempts) {
        lastError = new PaperlessApiError(`${method} ${url.pathname}: Paperless answered ${res.status}: ${text.slice(0, 300)}`, res.status);
        continue;
      }
      return { status: res.status, text };
    }
    throw lastError as PaperlessApiError;
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
