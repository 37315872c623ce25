import { collationFold as fold, normalizeUsername } from '../directory/username.js';
import { GatewayError } from '../errors.js';

/**
 * A directory user whose name is reserved for a local Paperless account. Provisioning tells local
 * accounts apart by asking Paperless; this holds without a single API call, so it holds with
 * provisioning off too.
 */
export class ReservedUsernameError extends GatewayError {
  readonly status = 403;
  constructor(username: string) {
    super(
      `${username} is in GATEWAY_RESERVED_USERNAMES: a local Paperless account has this name, and header login would make the directory user that account`,
      'This name belongs to a local Paperless account, so it cannot sign in here. Ask your administrator.',
    );
  }
}

/** The reserved names, compared as Paperless receives names (normalised, lower case). */
export class ReservedUsernames {
  private readonly names: ReadonlySet<string>;
  private readonly folded: ReadonlySet<string>;

  constructor(names: readonly string[]) {
    this.names = new Set(names.map(normalizeUsername).filter((n) => n !== ''));
    this.folded = new Set([...this.names].map(fold));
  }

  /** Also in the spellings a database may take for the same row (see fold). */
  has(username: string): boolean {
    return this.folded.has(fold(normalizeUsername(username)));
  }

  /** Throws ReservedUsernameError for a reserved name. */
  refuse(username: string): void {
    if (this.has(username)) throw new ReservedUsernameError(username);
  }

  /** For the start-up line. */
  list(): string[] {
    return [...this.names].sort();
  }
}

