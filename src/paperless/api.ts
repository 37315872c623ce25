import { createHash } from 'node:crypto';
import type { ProvisioningConfig } from '../config/config.js';
import type { Metrics } from '../ops/metrics.js';
import { PaperlessApiError } from './errors.js';
import { byName } from './by-name.js';
import { jsonOf, PaperlessClient, type PaperlessVersions } from './client.js';

export interface PaperlessUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  is_staff: boolean;
  is_superuser: boolean;
  groups: number[];
  user_permissions: string[];
  /** `**********` when the account has a local password, `""` when it has none (made by header login or by us). */
  password?: string;
}

export interface PaperlessGroup {
  id: number;
  name: string;
  permissions: string[];
}

interface Page<T> {
  next: string | null;
  results: T[];
}


/** DRF's words for a token it does not accept (Paperless answers them with 403, not 401). */
export const REFUSED_TOKEN = /^(Invalid token|User inactive or deleted|Invalid token header)/;

/** The `detail` of a DRF error body; empty when there is none. */
export function detailOf(body: string): string {
  try {
    const detail = (JSON.parse(body) as { detail?: unknown }).detail;
    return typeof detail === 'string' ? detail : '';
  } catch {
    return '';
  }
}

function explain(status: number, body: string): string {
  // Paperless lists session authentication first, so DRF answers a bad token with 403, not 401.
  if (status === 401 || (status === 403 && REFUSED_TOKEN.test(detailOf(body)))) {
    return `Paperless refused the API token (${status} "${detailOf(body) || 'unauthorized'}"): check GATEWAY_PAPERLESS_TOKEN`;
  }
  if (status === 403) return `Paperless refused the call (403): the token's user must be a superuser (${body.slice(0, 200)})`;
  if (status === 406) return 'Paperless does not speak API version 9 or 10 (406): Paperless-ngx 2.18 or newer is needed';
  return `Paperless answered ${status}: ${body.slice(0, 300)}`;
}

/**
 * The slice of Paperless's REST API provisioning needs, as a superuser:
 * API version negotiated (9, or 10 on 3.x), every page followed, timeouts, retries with backoff on
 * 5xx and network errors. Counts its calls (tests and `sync` report them).
 */
export class PaperlessApi {
  private readonly client: PaperlessClient;

  /** `metrics` counts each call by result (gateway_provisioning_calls_total). */
  constructor(
    private readonly config: Pick<ProvisioningConfig, 'apiUrl' | 'token' | 'timeoutMs'>,
    metrics?: Pick<Metrics, 'provisioningCalls'>,
  ) {
    this.client = new PaperlessClient({ url: config.apiUrl, timeoutMs: config.timeoutMs, ...(metrics ? { countCall: (result: string) => metrics.provisioningCalls.inc({ result }) } : {}) });
  }

  close(): void {
    this.client.close();
  }

  /** Names the token without revealing it (its 160 random bits make a plain hash safe), for what is known of it in Redis. */
  get tokenId(): string {
    return createHash('sha256').update(this.config.token).digest('hex').slice(0, 32);
  }

  /** Calls made to Paperless, retries included. */
  get calls(): number {
    return this.client.calls;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    // Reads and writes alike may be repeated: every write provisioning makes is idempotent (it sets, never adds).
    const answer = await this.client.call(method, path, { token: this.config.token }, { ...(body === undefined ? {} : { body }), retry: true });
    const what = `${method} ${new URL(path, this.config.apiUrl).pathname}`;
    if (answer.status < 200 || answer.status >= 300) throw new PaperlessApiError(`${what}: ${explain(answer.status, answer.text)}`, answer.status);
    return jsonOf<T>(answer, what);
  }

  /** Every item of a paginated list, following `next` (its path and query, on our own base URL). */
  private async all<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let next: string | null = path;
    while (next) {
      const page: Page<T> = await this.request<Page<T>>('GET', next);
      out.push(...page.results);
      if (!page.next) break;
      const u = new URL(page.next, this.config.apiUrl);
      next = u.pathname + u.search;
    }
    return out;
  }

  /** The user a name belongs to: the exact spelling first, then any case. */
  async findUser(username: string): Promise<PaperlessUser | undefined> {
    const found = await this.all<PaperlessUser>(`/api/users/?username__iexact=${encodeURIComponent(username)}`);
    // Whatever else matched, the database's case folding (not JavaScript's) said it is this name.
    return byName(found, username, (u) => u.username) ?? found[0];
  }

  listUsers(): Promise<PaperlessUser[]> {
    return this.all<PaperlessUser>('/api/users/?page_size=1000');
  }

  createUser(body: Omit<PaperlessUser, 'id' | 'password'> & { password?: string }): Promise<PaperlessUser> {
    return this.request('POST', '/api/users/', body);
  }

  updateUser(id: number, changes: Partial<Omit<PaperlessUser, 'id'>>): Promise<PaperlessUser> {
    return this.request('PATCH', `/api/users/${id}/`, changes);
  }

  listGroups(): Promise<PaperlessGroup[]> {
    return this.all<PaperlessGroup>('/api/groups/?page_size=1000');
  }

  createGroup(name: string, permissions: string[]): Promise<PaperlessGroup> {
    return this.request('POST', '/api/groups/', { name, permissions });
  }

  updateGroup(id: number, changes: Partial<Omit<PaperlessGroup, 'id'>>): Promise<PaperlessGroup> {
    return this.request('PATCH', `/api/groups/${id}/`, changes);
  }

  /** The token's own user, from the settings the UI loads, and the Paperless version that answered. */
  async whoami(): Promise<{ username: string; is_superuser: boolean; version: string | undefined }> {
    const settings = await this.request<{ user: { username: string; is_superuser: boolean } }>('GET', '/api/ui_settings/');
    return { ...settings.user, version: this.client.paperlessVersion };
  }

  /** Paperless's version as its latest answer said (undefined before the first call). */
  get paperlessVersion(): string | undefined {
    return this.client.paperlessVersion;
  }

  /** The API version the calls use now (negotiated from Paperless's answers). */
  get apiVersion(): number {
    return this.client.apiVersion;
  }

  /** What the other thread's API heard: negotiated once per process, not once per thread. */
  adoptVersions(versions: PaperlessVersions): void {
    this.client.adopt(versions);
  }
}
