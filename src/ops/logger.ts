import { pino, type DestinationStream, type Logger } from 'pino';
import { LineBatch } from './line-batch.js';

/**
 * JSON logs on stdout (fd 1), or stderr (fd 2) for commands whose stdout is their output.
 * `destination`: somewhere else for the same lines (the pages thread hands its lines to the main thread).
 * `terminal`: whether a person watches the output, when this thread cannot tell (in a worker
 * thread `process.stdout` is a pipe to the main thread, never a TTY); by default the fd decides.
 */
export function createLogger(level: string, fd: 1 | 2 = 1, destination?: DestinationStream, terminal?: boolean): Logger {
  const pretty = destination === undefined && (terminal ?? (fd === 1 ? process.stdout : process.stderr).isTTY === true);
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
    destination ?? (pretty ? pino.transport({ target: 'pino-pretty', options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss' } }) : pino.destination({ fd, sync: true })),
  );
}

/**
 * Writes whole log lines that another thread built, from this thread and synchronously like
 * every other line here: two threads writing one pipe could split each other's lines.
 */
export function logLineWriter(destination?: DestinationStream): (line: string) => void {
  if (destination) return (line) => destination.write(line);
  const boom = pino.destination({ fd: 1, sync: true });
  return (line) => boom.write(line);
}

/** How long a request line may wait in memory before it is written. */
const REQUEST_LOG_FLUSH_MS = 250;
/** Lines per write: about 30 KiB of access lines (a write costs tens of µs whatever it holds). */
const REQUEST_LOG_BATCH_LINES = 128;
/** A batch's buffer, and sonic-boom's largest single write (raised from its 16 KiB so a batch goes out in one). */
const REQUEST_LOG_MAX_WRITE = 64 * 1024;

/**
 * A logger for the access lines only: one per request, so their writes are
 * batched (128 lines, or every 250 ms when traffic is light); one write system
 * call per request cost about a tenth of the proxy's throughput. Still written
 * by the same thread as every other line, so lines never interleave. Audit
 * events (sign-ins, bans, revocations) go through the main logger, unbuffered.
 */
export function createRequestLogger(level: string, destination?: DestinationStream): { log: Logger; close(): void } {
  // A destination of its own (a gateway run in-process) takes the lines as they come, in order with the rest.
  if (destination) return { log: pino({ level, base: { service: 'paperless-ldap-gateway' } }, destination), close: () => undefined };
  if (process.stdout.isTTY === true) return { log: createLogger(level), close: () => undefined };
  const boom = pino.destination({ fd: 1, sync: true, maxWrite: REQUEST_LOG_MAX_WRITE, contentMode: 'buffer' });
  // sonic-boom's types describe its text mode only; in buffer mode write() takes the bytes as they are.
  const writeBytes = boom.write as unknown as (this: typeof boom, bytes: Buffer) => boolean;
  const sink = { write: (bytes: Buffer) => writeBytes.call(boom, bytes), flushSync: () => boom.flushSync() };
  const batch = new LineBatch(sink, REQUEST_LOG_BATCH_LINES, REQUEST_LOG_MAX_WRITE);
  const timer = setInterval(() => batch.flush(), REQUEST_LOG_FLUSH_MS);
  timer.unref();
  // A process that exits without close() (a crash) still writes what it collected.
  const flush = () => batch.flushSync();
  process.once('exit', flush);
  return {
    log: pino({ level, base: { service: 'paperless-ldap-gateway' } }, batch),
    close: () => {
      clearInterval(timer);
      process.off('exit', flush);
      flush();
    },
  };
}
