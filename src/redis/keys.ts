/**
 * Every name the gateway uses in Redis, in one place, all under GATEWAY_REDIS_KEY_PREFIX. The
 * server, the CLI (`sync`) and every replica build them here, so all of them see the same data.
 */
export function redisKeys(prefix: string) {
  return {
    /** A gateway session (connect-redis's record). */
    session: (sid: string) => `${prefix}sess:${sid}`,
    /** The prefix connect-redis is given for the same records. */
    sessionPrefix: `${prefix}sess:`,
    /** Paperless's own session id for a gateway session: kept here, never in the browser. */
    paperlessSession: (sid: string) => `${prefix}paperless-session:${sid}`,
    /** Pub/sub: a session ended (logout, revocation), so every replica closes its websockets. */
    sessionEnded: `${prefix}session-ended`,
    /** Pub/sub: a person's password changed through the gateway, so every replica forgets their cached Basic checks. */
    passwordChanged: `${prefix}password-changed`,
    /** The session ids of one user, for "revoke every session of this user". */
    userSessions: (username: string) => `${prefix}user-sessions:${username}`,
    /** SCAN pattern of every user's session index (`sessions list` without a user). */
    userSessionsPattern: `${prefix}user-sessions:*`,
    /** A rate limiter's counters (rate-limiter-flexible adds the rest of the key). */
    regulationCounter: (name: string) => `${prefix}rl:${name}`,
    regulationBans: `${prefix}rl:bans`,
    /** Whether a user has signed in from an address before (such pairs get their own budget). */
    regulationKnown: (username: string, ip: string) => `${prefix}rl:known:${username}|${ip}`,
    /** Provisioning's locks and its record of what it last wrote. */
    provisioning: (name: string) => `${prefix}prov:${name}`,
    /**
     * Whose a Paperless token is, by the SHA-256 of the token (its 160 random bits make a plain
     * hash safe): the directory person it is re-checked for.
     */
    tokenOwner: (tokenHash: string) => `${prefix}token-owner:${tokenHash}`,
    /** Everyone the gateway has let in as a directory person (their tokens follow the directory). */
    directoryPeople: `${prefix}directory-people`,
    /** Held for a whole interval by the replica that runs the scheduled sync. */
    syncLock: `${prefix}sync:lock`,
    /** One person's second factors, sealed (AES-256-GCM): TOTP, recovery codes, passkeys, app passwords. */
    factors: (username: string) => `${prefix}mfa:factors:${username}`,
    /** One person's open step-up windows (account page): a hash of session-id hash to its end, epoch ms. */
    stepUp: (username: string) => `${prefix}step-up:${username}`,
    /** Everyone who has a factors record, for `mfa list`. */
    factorUsers: `${prefix}mfa:users`,
    /** A WebAuthn challenge, for one session and one ceremony, spent when answered. */
    webauthnChallenge: (ceremony: string, sid: string) => `${prefix}mfa:challenge:${ceremony}:${sid}`,
    /** A Kerberos token some replica accepted (its authenticator's SHA-256), kept twice the clock skew and a minute: any replica refuses it again as a replay. */
    kerberosToken: (hash: string) => `${prefix}kerberos:token:${hash}`,
    /** A one-time enrolment link, by the hash of its token. */
    enrolmentLink: (tokenHash: string) => `${prefix}mfa:link:${tokenHash}`,
    /** The second step's own failure counters and bans, apart from the password's. */
    secondFactorRegulation: {
      regulationCounter: (name: string) => `${prefix}mfa:rl:${name}`,
      regulationBans: `${prefix}mfa:rl:bans`,
      regulationKnown: (username: string, ip: string) => `${prefix}mfa:rl:known:${username}|${ip}`,
    },
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
