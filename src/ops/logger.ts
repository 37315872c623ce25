import { pino, type Logger } from 'pino';

/** JSON logs on stdout (fd 1), or stderr (fd 2) for commands whose stdout is their output. */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'paperless-ldap-gateway' },
      // Never let a secret reach the log, even when someone logs a whole request.
      redact: {
        paths: ['password', '*.password', 'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-csrftoken"]', 'res.headers["set-cookie"]', '*.token'],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd, sync: true }),
  );
}
