import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'paperless-ldap-gateway' },
    // Never let a secret reach the log, even when someone logs a whole request.
    redact: { paths: ['password', '*.password', 'req.headers.authorization', 'req.headers.cookie', '*.token'], censor: '[redacted]' },
  });
}
