import type http from 'node:http';
import type { Logger } from 'pino';

/**
 * Stops accepting; requests in flight (a long upload) may finish within the shutdown timeout,
 * after which the rest are cut. Idle keep-alive connections are closed as they go idle.
 */
export async function closeGracefully(server: http.Server, timeoutMs: number, log: Logger): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const idle = setInterval(() => server.closeIdleConnections(), 100);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)));
  try {
    if (await Promise.race([closed.then(() => false), timedOut])) {
      log.warn({ event: 'shutdown.timeout' }, 'requests still running at the shutdown timeout; closing them');
      server.closeAllConnections();
      await closed;
    }
  } finally {
    clearInterval(idle);
    clearTimeout(timer);
  }
}

/** `exclusive`: a handle of this thread's own, never shared through a cluster's primary. */
export function listenOn(server: http.Server, port: number, host: string, exclusive = false): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, exclusive }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
