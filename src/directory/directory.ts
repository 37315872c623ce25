/** What the rest of the gateway knows about a person in the directory. */
export interface DirectoryUser {
  /** Normalised (NFC, lower case) login name: the name Paperless sees. */
  username: string;
  /** The username attribute's value as the entry holds it (a Kerberos principal must name it exactly). */
  nameAsStored?: string;
  dn: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  displayName?: string;
  groups: DirectoryGroup[];
  /** Epoch ms the password expires, when the directory says (AD, FreeIPA, ppolicy's warning at bind). */
  passwordExpiresAt?: number;
  /** Why the directory would refuse this account a sign-in now, when its entry says so (AD: expired, locked out). */
  restricted?: string;
}

export interface DirectoryGroup {
  dn: string;
  name: string;
}

/**
 * Called by `authenticate` once the user search has answered and before any bind as the person:
 * with the entry's username, or, when the search found nobody, with the name as searched
 * (`signInName`). Throwing stops the sign-in there: the password never reaches the directory.
 */
export type BeforeBind = (person: string) => Promise<void>;

/**
 * The directory as sign-in, the periodic re-check and `sync` use it. Modelled on Authelia's
 * UserProvider: check a password, get details, a startup check, close.
 */
export interface Directory {
  /**
   * Throws InvalidCredentialsError or DirectoryUnavailableError, or what `beforeBind` throws.
   * `found`: the entry a look-up of this name just returned, so it is not searched for again.
   */
  authenticate(username: string, password: string, beforeBind?: BeforeBind, found?: DirectoryUser): Promise<DirectoryUser>;
  /** The user's current details, or undefined when the directory no longer has them. */
  lookup(username: string): Promise<DirectoryUser | undefined>;
  /** Every user in scope (the user filter), streamed page by page. */
  listUsers(): AsyncIterable<DirectoryUser>;
  /**
   * Changes a person's password, knowing the current one. Throws PasswordRejectedError with the
   * policy's reason, InvalidCredentialsError for a wrong current password,
   * PasswordChangeNeedsTlsError (AD over plain LDAP), or DirectoryUnavailableError.
   */
  changePassword(username: string, current: string, next: string): Promise<void>;
  /**
   * The entries of `names` (group names or DNs, as GATEWAY_LDAP_ALLOWED_GROUPS takes them) that
   * match no group under the group base: DNs compared as RFC 4514 means them, names
   * case-insensitively. Throws DirectoryUnavailableError when the directory cannot be asked.
   */
  missingGroups(names: readonly string[]): Promise<string[]>;
  /** Binds the service account once, so a wrong setting shows at startup. */
  check(): Promise<void>;
  close(): Promise<void>;
}
