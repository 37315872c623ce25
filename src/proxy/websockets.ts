import type { Socket } from 'node:net';
import type { Metrics } from '../ops/metrics.js';

/** Sends a websocket close frame (server frames are unmasked) before ending the connection. */
function closeSocket(socket: Socket, code?: number): void {
  if (code !== undefined && socket.writable) {
    const frame = Buffer.from([0x88, 0x02, (code >> 8) & 0xff, code & 0xff]);
    socket.end(frame);
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy();
}

/** The close code a browser gets when the session behind its socket ends (logout, revocation, expiry). */
export const SESSION_ENDED = 1008;

/**
 * Open websockets by gateway session, so a session's sockets close when it
 * ends (logout, revocation, expiry) on whichever replica holds them.
 */
export class WebsocketRegistry {
  private readonly bySession = new Map<string, { endsAt: number; sockets: Set<Socket> }>();

  constructor(private readonly metrics: Pick<Metrics, 'websockets'>) {}

  /** `endsAt`: when the session reaches its absolute lifetime (epoch ms). */
  track(sid: string, endsAt: number, socket: Socket): void {
    let entry = this.bySession.get(sid);
    if (!entry) {
      entry = { endsAt, sockets: new Set() };
      this.bySession.set(sid, entry);
    }
    entry.sockets.add(socket);
    this.metrics.websockets.inc();
    socket.once('close', () => {
      this.metrics.websockets.dec();
      entry.sockets.delete(socket);
      if (entry.sockets.size === 0 && this.bySession.get(sid) === entry) this.bySession.delete(sid);
    });
  }

  /** Closes every socket of a session; returns how many were open. */
  closeSession(sid: string, code?: number): number {
    const entry = this.bySession.get(sid);
    if (!entry) return 0;
    this.bySession.delete(sid);
    for (const socket of entry.sockets) closeSocket(socket, code);
    return entry.sockets.size;
  }

  sessions(): Array<{ sid: string; endsAt: number }> {
    return [...this.bySession].map(([sid, e]) => ({ sid, endsAt: e.endsAt }));
  }

  get size(): number {
    let n = 0;
    for (const e of this.bySession.values()) n += e.sockets.size;
    return n;
  }

  /** Closes every socket; with a code (1001 "going away" at shutdown) the browser is told why. */
  closeAll(code?: number): void {
    for (const sid of [...this.bySession.keys()]) this.closeSession(sid, code);
  }
}
