import type { Logger } from 'pino';
import { isAllowed } from '../directory/allowed-groups.js';
import type { Directory, DirectoryUser } from '../directory/directory.js';
import { AccountRestrictedError, DirectoryUnavailableError, PasswordChangeRequiredError, fitsIdentityHeader, InvalidCredentialsError, NotAllowedError, UsernameNotRepresentableError } from '../directory/errors.js';
import type { Metrics } from '../ops/metrics.js';
import { regulationKey } from '../directory/username.js';
import { dnsDomainOf } from '../directory/dn.js';
import { GatewayError } from '../errors.js';
import { LocalAccountError, ReservedAccountError, TokenUserUnknownError } from '../provisioning/errors.js';
import { PaperlessApiError } from '../paperless/errors.js';
import type { Provisioner } from '../provisioning/provisioner.js';
import { BannedError, countFailure, countReservedFailure, type Regulation, type Reservation } from './regulation.js';
import { ReservedUsernameError, type ReservedUsernames } from './reserved-usernames.js';
import type { ResponseTiming } from './response-timing.js';
import { redisCall } from '../redis/errors.js';
import type { SignInChannel } from './refused-sign-in.js';

function outcomeOf(err: unknown): string {
  if (err instanceof BannedError) return 'banned';
  if (err instanceof InvalidCredentialsError) return 'invalid';
  if (err instanceof NotAllowedError) return 'not_allowed';
  if (err instanceof AccountRestrictedError) return 'restricted';
  if (err instanceof UsernameNotRepresentableError) return 'unrepresentable';
  if (err instanceof ReservedUsernameError) return 'reserved';
  if (err instanceof DirectoryUnavailableError) return 'directory_unavailable';
  if (err instanceof PasswordChangeRequiredError) return 'password_change_required';
  return 'error';
}

export interface CredentialCheckDeps {
  directory: Directory;
  allowedGroups: readonly string[];
  provisioner?: Pick<Provisioner, 'provision'>;
  provisioningFailure: 'deny' | 'allow';
  /** `reserve`, `release` and `confirm` take each attempt's point before the bind (see Regulation). */
  regulation: Pick<Regulation, 'check' | 'failed' | 'succeeded' | 'reserve' | 'release' | 'confirm'>;
  /**
   * The person a typed name stands for, before the directory is asked (`signInName` with the
   * directory's preset): the ban checked first, without the directory. Default: the name itself.
   */
  signInName?: (typed: string) => string;
  /**
   * Whether a Kerberos principal's name matches its directory entry without regard to ASCII case
   * (Active Directory's are); elsewhere (MIT, FreeIPA) `Alice@R` and `alice@R` are two people.
   */
  caseInsensitivePrincipals?: boolean;
  /** Names no directory user may sign in as (GATEWAY_RESERVED_USERNAMES). */
  reservedUsernames?: ReservedUsernames;
  timing: ResponseTiming;
  metrics: Pick<Metrics, 'logins' | 'bans' | 'provisioningFailures'>;
  /**
   * For apps and scripts, which sign in with a password alone: throws when this person must use
   * a second factor (see mfa/). Absent while second factors are off.
   */
  passwordOnly?: (user: DirectoryUser) => Promise<void>;
  /** App passwords (see mfa/app-passwords.ts), accepted from apps and scripts instead of the directory password. */
  appPasswords?: { looksLike(typed: string): boolean; matches(username: string, typed: string, via: SignInChannel): Promise<boolean> };
  log: Logger;
}

/** The person an app-password-shaped password was looked up for, and whether it is one of their app passwords. */
interface AppPasswordCheck {
  user: DirectoryUser;
  matched: boolean;
}

/** A ticket's name the directory does not hold (or not as this ticket's): the same words either way. */
const TICKET_NOBODY = 'Your computer signed you in as someone the directory of this gateway does not know (or whose account is disabled). Sign in with your password.';

/**
 * What every way of signing in shares (the form, the apps' /api/token/, Basic
 * auth): the directory checks the password, the allowed groups admit the
 * person, and Paperless is made to match before anything is forwarded.
 */
export class CredentialCheck {
  private readonly admitted: Array<(username: string) => void> = [];

  constructor(private readonly deps: CredentialCheckDeps) {}

  /**
   * Told of everyone let in through the directory (every way in), when they are: from then on
   * what they hold (tokens made in Paperless too) follows the directory.
   */
  onAdmitted(listener: (username: string) => void): void {
    this.admitted.push(listener);
  }

  /**
   * A whole sign-in with a password alone (apps' /api/token/, Basic): the password, then
   * whether a password alone may sign this person in, then Paperless made to match.
   * `ip` is the client's address as the trusted proxies report it: the regulation's key.
   */
  async verify(username: string, password: string, ip: string, via: SignInChannel): Promise<DirectoryUser> {
    // Refusals are padded from here: the app-password look-up takes longer for a real person
    // than for a name that resolves to nobody, and a ban found there must take a refusal's time too.
    const started = this.deps.timing.now();
    let byAppPassword: AppPasswordCheck | undefined;
    try {
      byAppPassword = via === 'form' ? undefined : await this.checkAppPassword(username, password, ip, via);
    } catch (err) {
      if (err instanceof InvalidCredentialsError || err instanceof ReservedUsernameError) await this.deps.timing.pad(started);
      throw err;
    }
    if (byAppPassword?.matched) {
      await this.admit(byAppPassword.user, via);
      return byAppPassword.user;
    }
    // Not an app password of theirs: tried as the directory password, binding the entry the
    // look-up found without searching again, so a real person's refusal costs what a success does.
    const user = await this.checkPassword(username, password, ip, via, started, byAppPassword?.user);
    await this.oneFactorAllowed(user, via);
    await this.admit(user, via);
    return user;
  }

  /**
   * The first step of every sign-in: the directory's password, a name the header can carry, an
   * allowed group. A refusal takes as long as a success, counted from `started`.
   */
  checkPassword(username: string, password: string, ip: string, via: SignInChannel, started = this.deps.timing.now(), found?: DirectoryUser): Promise<DirectoryUser> {
    return this.counted(via, async () => {
      let user: DirectoryUser;
      try {
        user = await this.authenticate(username, password, ip, started, found);
      } catch (err) {
        // The password was right but must be changed: only someone who may use Paperless gets that far.
        if (err instanceof PasswordChangeRequiredError) this.admissible(err.user);
        throw err;
      }
      this.admissible(user);
      return user;
    });
  }

  /**
   * An app password instead of the directory password: the person is looked up with the
   * service account (so a disabled or removed account gets nothing) and must still be in an
   * allowed group. Regulated like a password. Undefined (not a failure) when it is not one of
   * theirs: it is then tried as the directory password, which counts a failure if wrong.
   */
  private checkAppPassword(username: string, password: string, ip: string, via: SignInChannel): Promise<AppPasswordCheck | undefined> {
    const { appPasswords, regulation } = this.deps;
    if (!appPasswords?.looksLike(password)) return Promise.resolve(undefined);
    return this.counted(via, async () => {
      const { typed, user } = await this.lookUpUnbanned(username, ip);
      if (!user) return undefined;
      const person = await this.personUnbanned(user, typed, ip);
      if (!(await appPasswords.matches(user.username, password, via))) return { user, matched: false };
      this.admissible(user);
      await redisCall('regulation', 'sign-in attempts', () => regulation.succeeded(person, ip));
      return { user, matched: true };
    });
  }

  /**
   * A person whose computer's Kerberos ticket proved them (kerberos/negotiate.ts), by the name the
   * principal signs in as: admitted as a password is, without the password. Their ban is checked;
   * the directory must still hold them under its user filter (which leaves disabled accounts out:
   * a ticket issued before the account was disabled is good for hours); then a name the header can
   * carry, an allowed group, no reserved name. Nothing is counted against them on a refusal: the
   * ticket was genuine, and the answer is the directory's.
   */
  checkTicket(username: string, realm: string, ip: string): Promise<DirectoryUser> {
    const { regulation } = this.deps;
    return this.counted('kerberos', async () => {
      const { typed, user } = await this.lookUpUnbanned(username, ip);
      // The entry must carry the principal's very name, as it holds it (ASCII case aside on AD
      // only): a filter that also matches other attributes (userPrincipalName) may not hand a
      // ticket's name to another account, and lookups fold case, so `alice@R` may not become `Alice`.
      const stored = user?.nameAsStored ?? user?.username;
      const same = this.deps.caseInsensitivePrincipals ? stored?.toLowerCase() === username.toLowerCase() : stored === username;
      if (!user || !same) throw new NotAllowedError(username, TICKET_NOBODY);
      // Active Directory: a realm is a domain, and only its own entries are its people (a Global
      // Catalog, or a base above several domains, finds another domain's alice too).
      if (this.deps.caseInsensitivePrincipals && dnsDomainOf(user.dn) !== realm.toLowerCase()) throw new NotAllowedError(username, TICKET_NOBODY);
      const person = await this.personUnbanned(user, typed, ip);
      // What a bind would have refused (a ticket outlives its account's expiry, lock-out or password by hours).
      const expired = user.passwordExpiresAt !== undefined && user.passwordExpiresAt <= Date.now();
      if (user.restricted || expired) throw new AccountRestrictedError(`${user.username} signed in by ticket, but ${user.restricted ?? 'the password has expired'}`, 'Your account cannot sign in right now (it has expired, is locked, or its password has expired). Sign in with your password to see why.');
      this.admissible(user);
      // As a right password: this address is the person's own (a ban of their name by someone
      // guessing elsewhere then leaves it open), and its count of wrong passwords starts again.
      await redisCall('regulation', 'sign-in attempts', () => regulation.succeeded(person, ip));
      return user;
    });
  }

  /**
   * A whole sign-in with a ticket alone (`Authorization: Negotiate` on the API), as Basic's with a
   * password: the ticket's person, then whether one factor may sign them in, then Paperless made to match.
   */
  async verifyTicket(username: string, realm: string, ip: string): Promise<DirectoryUser> {
    const user = await this.checkTicket(username, realm, ip);
    await this.oneFactorAllowed(user, 'kerberos');
    await this.admit(user, 'kerberos');
    return user;
  }

  /** Whether one factor may sign this person in (apps, Basic and the API's Kerberos answer no second step); a refusal is counted. */
  private async oneFactorAllowed(user: DirectoryUser, via: SignInChannel): Promise<void> {
    try {
      await this.deps.passwordOnly?.(user);
    } catch (err) {
      // A refusal here is the second-factor rule (a 403); anything else is an outage.
      this.deps.metrics.logins.inc({ outcome: err instanceof GatewayError && err.status === 403 ? 'second_factor_required' : outcomeOf(err), via });
      throw err;
    }
  }

  /** The last step, once every factor is proven: Paperless is made to match, and the sign-in counts. */
  async admit(user: DirectoryUser, via: SignInChannel): Promise<void> {
    await this.counted(via, () => this.provision(user));
    this.deps.metrics.logins.inc({ outcome: 'success', via });
    for (const listener of this.admitted) listener(user.username);
  }

  private async counted<T>(via: SignInChannel, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      this.deps.metrics.logins.inc({ outcome: outcomeOf(err), via });
      throw err;
    }
  }

  /** The ban of the name as given is checked (no directory needed), then the directory's entry for it. */
  private async lookUpUnbanned(username: string, ip: string): Promise<{ typed: string; user: DirectoryUser | undefined }> {
    const typed = this.typedKey(username);
    await redisCall('regulation', 'sign-in attempts', () => this.deps.regulation.check(typed, ip));
    return { typed, user: await this.deps.directory.lookup(username) };
  }

  /** The person's ban, whichever spelling found them; their regulation key. */
  private async personUnbanned(user: DirectoryUser, typed: string, ip: string): Promise<string> {
    const person = regulationKey(user.username);
    if (person !== typed) await redisCall('regulation', 'sign-in attempts', () => this.deps.regulation.check(person, ip));
    return person;
  }

  /** The regulation key of a typed name, before the directory says whose it is. */
  private typedKey(username: string): string {
    return regulationKey(this.deps.signInName ? this.deps.signInName(username) : username);
  }

  /**
   * The password against the directory, regulated on the person the directory resolves the name
   * to (or on the name, when it resolves to nobody): their ban is checked and their attempt
   * reserved before the bind, so no spelling of a banned person reaches the bind and a burst
   * reaches it at most the limit's number of times. Whether the password was right is never
   * looked at for a banned attempt, so its answer cannot depend on it.
   */
  private async authenticate(username: string, password: string, ip: string, started: number, found?: DirectoryUser): Promise<DirectoryUser> {
    const { regulation, directory, timing } = this.deps;
    const typed = this.typedKey(username);
    let reservation: Reservation | undefined;
    const beforeBind = async (person: string): Promise<void> => {
      // Before the bind, whatever the password: refused after it, the answer would tell a right
      // password from a wrong one.
      this.deps.reservedUsernames?.refuse(person);
      const key = regulationKey(person);
      reservation = await redisCall('regulation', 'sign-in attempts', () => regulation.reserve(key, ip));
    };
    // Once only: a failure after it (Redis, on recording the success) must not give back twice.
    const giveBack = async (): Promise<void> => {
      const taken = reservation;
      reservation = undefined;
      if (taken) await redisCall('regulation', 'sign-in attempts', () => regulation.release(taken));
    };
    try {
      // A ban on the name as typed needs no directory at all (it may be down).
      await redisCall('regulation', 'sign-in attempts', () => regulation.check(typed, ip));
      const user = await directory.authenticate(username, password, beforeBind, found);
      timing.recordSuccess(timing.now() - started);
      await giveBack();
      await redisCall('regulation', 'sign-in attempts', () => regulation.succeeded(regulationKey(user.username), ip));
      return user;
    } catch (err) {
      const failed = err instanceof InvalidCredentialsError && !(err instanceof BannedError);
      if (failed && reservation) await countReservedFailure(regulation, reservation, this.deps);
      // Refused before the bind (nothing reserved): counted on the name as typed, or the entry's.
      else if (failed) await countFailure(regulation, err.entryUsername === undefined ? typed : regulationKey(err.entryUsername), ip, this.deps);
      // The password was right (restricted, must change) or never judged (an outage): no failure.
      else await giveBack().catch(() => undefined);
      // Unknown user, wrong password, a ban and a reserved name must not be told apart by how long they take.
      if (err instanceof InvalidCredentialsError || err instanceof ReservedUsernameError) await timing.pad(started);
      throw err;
    }
  }

  private admissible(user: DirectoryUser): void {
    if (!fitsIdentityHeader(user.username)) throw new UsernameNotRepresentableError(user.username);
    this.deps.reservedUsernames?.refuse(user.username);
    this.requireAllowedGroup(user);
  }

  private requireAllowedGroup(user: DirectoryUser): void {
    if (!isAllowed(user, this.deps.allowedGroups)) throw new NotAllowedError(user.username);
  }

  private async provision(user: DirectoryUser): Promise<void> {
    const { provisioner, provisioningFailure, log } = this.deps;
    if (!provisioner) return;
    try {
      await provisioner.provision(user);
    } catch (err) {
      const error = err instanceof GatewayError ? err : new PaperlessApiError(`provisioning failed: ${String(err)}`, undefined, { cause: err });
      this.deps.metrics.provisioningFailures.inc();
      log.error({ event: 'provisioning.failure', username: user.username, err: error.message, policy: provisioningFailure }, 'could not provision user');
      // allow: the person gets in with whatever Paperless has; the next sign-in tries again. A
      // refusal is no failure: leniency there would sign a directory user in as the token's
      // superuser or into someone's local account.
      const refusal = error instanceof ReservedAccountError || error instanceof LocalAccountError || error instanceof TokenUserUnknownError;
      if (provisioningFailure === 'deny' || refusal) throw error;
    }
  }
}
