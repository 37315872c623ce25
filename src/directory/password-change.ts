import { Attribute, BerWriter, Change, ConstraintViolationError, InsufficientAccessError, InvalidCredentialsError as LdapInvalidCredentials, UnwillingToPerformError, type Client } from 'ldapts';
import type { LdapConfig } from '../config/config.js';
import { DirectoryUnavailableError, InvalidCredentialsError, PasswordRejectedError, type PasswordProblem } from './errors.js';
import { PasswordPolicyControl, type PpolicyError } from './password-policy-control.js';

/**
 * Whether this directory can take a new password from the gateway: Active Directory only over an
 * encrypted connection (LDAPS, or StartTLS), every other family always.
 */
export function canChangePasswords(config: Pick<LdapConfig, 'preset' | 'startTls' | 'urls'>): boolean {
  return config.preset !== 'activedirectory' || config.startTls || config.urls.every((u) => u.toLowerCase().startsWith('ldaps://'));
}

/** RFC 3062 Password Modify: OpenLDAP, 389-ds, FreeIPA and LLDAP. */
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';

const PPOLICY_PROBLEMS: Partial<Record<PpolicyError, PasswordProblem>> = {
  passwordTooShort: 'too-short',
  passwordInHistory: 'in-history',
  passwordTooYoung: 'too-young',
  insufficientPasswordQuality: 'quality',
  passwordModNotAllowed: 'not-allowed',
};

/**
 * What a server's own words say (slapd's ppolicy texts, Samba's check_password_restrictions),
 * for servers that send no password policy control.
 */
function problemFromText(text: string): PasswordProblem {
  const t = text.toLowerCase();
  if (/too short|minimum length|at least \d+ char/.test(t)) return 'too-short';
  if (/history|used before|was used|previous password|reuse/.test(t)) return 'in-history';
  if (/too young|minimum password age|too soon|too recent/.test(t)) return 'too-young';
  if (/complex|quality|strength|characters from/.test(t)) return 'quality';
  if (/not being changed|same as/.test(t)) return 'same';
  return 'policy';
}

/** UTF-16LE with quotes: the only form Active Directory takes in unicodePwd. */
function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

function passwordModifyValue(current: string, next: string): Buffer {
  const writer = new BerWriter();
  writer.startSequence();
  writer.writeString(current, 0x81);
  writer.writeString(next, 0x82);
  writer.endSequence();
  return writer.buffer;
}

/**
 * The person changes their own password with the RFC 3062 extended operation on a connection
 * bound as them, with the password policy control, so the server's verdict (too short, in
 * history, too young…) comes back as a reason rather than a bare "constraint violation".
 */
export async function passwordModify(client: Client, current: string, next: string): Promise<void> {
  const policy = new PasswordPolicyControl();
  try {
    await client.exop(PASSWORD_MODIFY_OID, passwordModifyValue(current, next), policy);
  } catch (err) {
    throw changeError(err, policy);
  }
}

/**
 * Active Directory's change (not reset): delete the old unicodePwd and add the new one in one
 * modify, which AD allows whoever knows the old password, also when it must be changed.
 */
export async function adPasswordChange(client: Client, dn: string, current: string, next: string): Promise<void> {
  try {
    await client.modify(dn, [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(current)] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(next)] }) }),
    ]);
  } catch (err) {
    throw changeError(err);
  }
}

function changeError(err: unknown, policy?: PasswordPolicyControl): Error {
  const text = err instanceof Error ? err.message : String(err);
  // slapd reports an unchanged password as "in history"; its text says which it is.
  const fromControl = policy?.error ? (problemFromText(text) === 'same' ? 'same' : PPOLICY_PROBLEMS[policy.error]) : undefined;
  if (fromControl) return new PasswordRejectedError(fromControl, `${policy?.error}: ${text}`);
  // AD's text starts with a Win32 code: 00000056 is a wrong old password, 0000052D the policy
  // (Samba adds which rule). A bind refused as the person is a wrong current password too.
  if (/^0*56:/i.test(text) || err instanceof LdapInvalidCredentials) return new InvalidCredentialsError(`password change refused the current password: ${text}`);
  if (err instanceof ConstraintViolationError || err instanceof UnwillingToPerformError) return new PasswordRejectedError(problemFromText(text), text);
  if (err instanceof InsufficientAccessError) return new PasswordRejectedError('not-allowed', text);
  return new DirectoryUnavailableError(`password change failed: ${text}`, { cause: err });
}
