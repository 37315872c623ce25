import { pino, type Logger } from 'pino';

/** JSON logs on stdout (fd 1), or stderr (fd 2) for commands whose stdout is their output. */
export function createLogger(level: string, fd: 1 | 2 = 1): Logger {
  const pretty = (fd === 1 ? process.stdout : process.stderr).isTTY === true;
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
    // JSON for machines; readable lines when a person watches a terminal. Written synchronously: an
    // audit line (a ban, a revocation) must not be lost when the process dies right after it.
    pretty ? pino.transport({ target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss' } }) : pino.destination({ fd, sync: true }),
  );
}

/** How long a request line may wait in the buffer before it is written. */
const REQUEST_LOG_FLUSH_MS = 250;

/**
 * A logger for the access lines only: one per request, so their writes are
 * batched (4 KiB, or every 250 ms when traffic is light); one write system
 * call per request cost about a tenth of the proxy's throughput. Still written
 * by the same thread as every other line, so lines never interleave. Audit
 * events (sign-ins, bans, revocations) go through the main logger, unbuffered.
 */
export function createRequestLogger(level: string): { log: Logger; close(): void } {
  if (process.stdout.isTTY === true) return { log: createLogger(level), close: () => undefined };
  const destination = pino.destination({ fd: 1, sync: true, minLength: 4096 });
  const timer = setInterval(() => destination.flush(), REQUEST_LOG_FLUSH_MS);
  timer.unref();
  // A process that exits without close() (a crash) still writes what it buffered.
  const flush = () => destination.flushSync();
  process.once('exit', flush);
  return {
    log: pino({ level, base: { service: 'paperless-ldap-gateway' } }, destination),
    close: () => {
      clearInterval(timer);
      process.off('exit', flush);
      flush();
    },
  };
}
