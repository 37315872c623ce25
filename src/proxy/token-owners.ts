import { createHash } from 'node:crypto';
import { detailOf, REFUSED_TOKEN } from '../paperless/api.js';
import type { PaperlessClient } from '../paperless/client.js';
import type { RedisClient } from '../redis/client.js';
import type { RedisKeys } from '../redis/keys.js';
import { UpstreamUnavailableError } from './errors.js';

/** Whose a Paperless token is, as far as the gateway can tell. */
export type TokenOwner =
  /** Paperless (or the gateway's own /api/token/) named the token's user. */
  | { kind: 'person'; username: string; askedPaperless: boolean }
  /**
   * Paperless accepts the token but will not name its user: the account lacks view_uisettings.
   * Accounts the gateway provisions always hold it (every mapping includes it), so this is an
   * account the gateway does not manage.
   */
  | { kind: 'unattributed' }
  /** Paperless does not accept the token; its own status and words, to answer with. */
  | { kind: 'refused'; status: 401 | 403; detail: string };

function usernameOf(text: string): string | undefined {
  try {
    const user = (JSON.parse(text) as { user?: { username?: unknown } }).user;
    return typeof user?.username === 'string' && user.username !== '' ? user.username : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remembers whose each Paperless token is, in Redis (shared by every replica and both threads):
 * the gateway's own /api/token/ records the person it handed a token to; any other token
 * (made in Paperless's UI or by manage.py) is attributed by asking Paperless's
 * `/api/ui_settings/` with the token itself, which names its user, and the answer is kept too.
 * Records are keyed by the token's SHA-256 and expire unless used.
 */
export class TokenOwners {
  /** One question to Paperless per unknown token at a time, however many requests bring it. */
  private readonly asking = new Map<string, Promise<TokenOwner>>();

  constructor(
    private readonly deps: {
      redis: RedisClient;
      keys: RedisKeys;
      /** For tokens the gateway did not hand out; absent where only recording happens. */
      paperless?: PaperlessClient;
      /** How long an owner record lives after its last use. */
      ttlSeconds: number;
    },
  ) {}

  private static hash(key: string): string {
    return createHash('sha256').update(key).digest('hex');
  }

  /** The gateway handed this token to this directory person (app sign-in at /api/token/). */
  async record(key: string, username: string): Promise<void> {
    await Promise.all([
      this.deps.redis.set(this.deps.keys.tokenOwner(TokenOwners.hash(key)), username, 'EX', this.deps.ttlSeconds),
      this.addPerson(username),
    ]);
  }

  /** Someone the gateway let in through the directory: their tokens follow the directory from now on. */
  async addPerson(username: string): Promise<void> {
    await this.deps.redis.sadd(this.deps.keys.directoryPeople, username);
  }

  /** Whether the gateway has let this person in through the directory (sign-in, app sign-in, Basic). */
  async isPerson(username: string): Promise<boolean> {
    return (await this.deps.redis.sismember(this.deps.keys.directoryPeople, username)) === 1;
  }

  async ownerOf(key: string): Promise<TokenOwner> {
    const hash = TokenOwners.hash(key);
    const recorded = await this.deps.redis.getex(this.deps.keys.tokenOwner(hash), 'EX', this.deps.ttlSeconds);
    if (recorded) return { kind: 'person', username: recorded, askedPaperless: false };
    let pending = this.asking.get(hash);
    if (!pending) {
      pending = this.ask(key, hash).finally(() => this.asking.delete(hash));
      this.asking.set(hash, pending);
    }
    return pending;
  }

  /** Anything but a clear answer is Paperless being unavailable (the 502 page), never a guess. */
  private async ask(key: string, hash: string): Promise<TokenOwner> {
    if (!this.deps.paperless) throw new UpstreamUnavailableError('token owner: no Paperless client to ask');
    let answer: { status: number; text: string };
    try {
      answer = await this.deps.paperless.call('GET', '/api/ui_settings/', { token: key });
    } catch (err) {
      throw new UpstreamUnavailableError(`token owner: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (answer.status === 200) {
      const username = usernameOf(answer.text);
      if (username === undefined) throw new UpstreamUnavailableError('token owner: Paperless answered /api/ui_settings/ without a user');
      await this.deps.redis.set(this.deps.keys.tokenOwner(hash), username, 'EX', this.deps.ttlSeconds);
      return { kind: 'person', username, askedPaperless: true };
    }
    if (answer.status === 401 || answer.status === 403) {
      const detail = detailOf(answer.text);
      if (REFUSED_TOKEN.test(detail)) return { kind: 'refused', status: answer.status, detail };
      if (answer.status === 403) return { kind: 'unattributed' };
    }
    throw new UpstreamUnavailableError(`token owner: Paperless answered /api/ui_settings/ with ${answer.status}`);
  }
}
