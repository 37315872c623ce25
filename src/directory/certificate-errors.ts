import type { PeerCertificate } from 'node:tls';
import { DirectorySettingError } from './errors.js';

/** OpenSSL's verdicts (as Node's `code`) that mean "no CA the gateway trusts signed this chain". */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
]);
const EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

function codeOf(err: unknown): string | undefined {
  const code = err !== null && typeof err === 'object' && 'code' in err ? err.code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** The names a certificate is for, as its subjectAltName lists them ("DNS:localhost, IP Address:127.0.0.1"). */
function certificateNames(err: unknown): string[] {
  const cert = err !== null && typeof err === 'object' && 'cert' in err ? (err.cert as Partial<PeerCertificate> | undefined) : undefined;
  const san = cert?.subjectaltname;
  if (san) return san.split(/,\s*/).map((n) => n.replace(/^(DNS|IP Address):/, ''));
  return cert?.subject?.CN ? [String(cert.subject.CN)] : [];
}

/**
 * A TLS failure that is the certificate's, in the admin's words with the setting to change; undefined
 * for anything else (refused, reset, timed out), which stays "no LDAP server answered".
 */
export function certificateError(err: unknown, url: string, caFile: string | undefined): DirectorySettingError | undefined {
  const code = codeOf(err);
  if (code === undefined) return undefined;
  const why = err instanceof Error ? err.message : String(err);
  if (UNTRUSTED.has(code)) {
    return new DirectorySettingError(
      `the directory's certificate is not trusted (${url}: ${why})`,
      caFile
        ? `GATEWAY_LDAP_CA_FILE (${caFile}) does not hold the CA that signed it: set GATEWAY_LDAP_CA_FILE to that CA (PEM, the whole chain up to its root)`
        : 'set GATEWAY_LDAP_CA_FILE to the CA that signed it (PEM, the whole chain up to its root)',
      { cause: err },
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const host = 'host' in (err as object) ? String((err as { host: unknown }).host) : url;
    const names = certificateNames(err);
    return new DirectorySettingError(
      `the directory's certificate is for ${names.length > 0 ? names.join(', ') : 'another name'}, not for ${host} (${url})`,
      `use a name the certificate is for in GATEWAY_LDAP_URL${names[0] ? ` (e.g. ${names[0]})` : ''}, or set GATEWAY_LDAP_TLS_SERVER_NAME to it`,
      { cause: err },
    );
  }
  if (EXPIRED.has(code)) {
    return new DirectorySettingError(
      `the directory's certificate is not valid now (${url}: ${why})`,
      code === 'CERT_HAS_EXPIRED' ? 'renew the certificate on the directory server' : "check the clocks of the gateway's host and the directory server",
      { cause: err },
    );
  }
  return undefined;
}
