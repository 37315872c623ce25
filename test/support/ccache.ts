import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Rewrites the end time MIT's FILE credential cache (format 0x0504) keeps beside each ticket, the
 * client's own copy: the ticket inside, encrypted for the service, keeps the KDC's. MIT's clients
 * refuse to send a ticket they believe expired, so this is how a test presents one that is.
 */
export function extendCacheEndTimes(path: string, endtime = 0x7fffffff): void {
  const buf = readFileSync(path);
  if (buf.readUInt16BE(0) !== 0x0504) throw new Error(`${path}: not a version 4 credential cache`);
  let at = 4 + buf.readUInt16BE(2);
  const data = () => {
    at += 4 + buf.readUInt32BE(at);
  };
  const principal = () => {
    const components = buf.readUInt32BE(at + 4);
    at += 8;
    for (let i = 0; i <= components; i += 1) data(); // the realm, then each component
  };
  const counted = () => {
    const count = buf.readUInt32BE(at);
    at += 4;
    for (let i = 0; i < count; i += 1) {
      at += 2; // type
      data();
    }
  };
  principal(); // the default principal
  while (at < buf.length) {
    principal(); // client
    principal(); // server
    at += 2; // key type
    data(); // key
    at += 4 + 4; // authtime, starttime
    buf.writeUInt32BE(endtime, at);
    at += 4 + 4; // endtime, renew_till
    at += 1 + 4; // is_skey, flags
    counted(); // addresses
    counted(); // authorization data
    data(); // ticket
    data(); // second ticket
  }
  writeFileSync(path, buf);
}
