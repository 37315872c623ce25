import { Control, type BerReader } from 'ldapts';

/** draft-behera-ldap-password-policy: what OpenLDAP's ppolicy overlay (and 389-ds, FreeIPA) answer. */
export const PPOLICY_OID = '1.3.6.1.4.1.42.2.27.8.5.1';

const ERRORS = [
  'passwordExpired',
  'accountLocked',
  'changeAfterReset',
  'passwordModNotAllowed',
  'mustSupplyOldPassword',
  'insufficientPasswordQuality',
  'passwordTooShort',
  'passwordTooYoung',
  'passwordInHistory',
] as const;
export type PpolicyError = (typeof ERRORS)[number];

/**
 * The password policy control: sent empty with a bind or a change, it comes back with the
 * server's verdict (an error such as passwordInHistory, or a warning: seconds before expiry,
 * grace logins left). ldapts parses a response control into the request control of the same
 * type, so the answer lands in this object even when the operation itself fails.
 */
export class PasswordPolicyControl extends Control {
  timeBeforeExpiration?: number;
  graceAuthNsRemaining?: number;
  error?: PpolicyError;

  constructor() {
    super(PPOLICY_OID);
  }

  protected override parseControl(reader: BerReader): void {
    if (reader.readSequence() === null) return;
    const end = reader.offset + reader.length;
    while (reader.offset < end) {
      const tag = reader.peek();
      if (tag === 0xa0) {
        // warning [0] CHOICE { timeBeforeExpiration [0] INTEGER, graceAuthNsRemaining [1] INTEGER }
        reader.readSequence(0xa0);
        const which = reader.peek();
        if (which === 0x80) this.timeBeforeExpiration = reader.readTag(0x80) ?? undefined;
        else if (which === 0x81) this.graceAuthNsRemaining = reader.readTag(0x81) ?? undefined;
        else return;
      } else if (tag === 0x81) {
        this.error = ERRORS[reader.readTag(0x81) ?? -1];
      } else {
        return;
      }
    }
  }
}
