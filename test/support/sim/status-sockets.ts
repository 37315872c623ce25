/**
 * Paperless's /ws/status/ under Channels and granian: the session cookie alone identifies the
 * user, denied handshakes are never answered (2.20.15's granian 2.5.4) or answered 403 (3.0.5's
 * granian 2.7), and status updates go to owners and superusers.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DjangoAuth } from './django-auth.js';
import { parseCookies } from './django-parsing.js';
import type { Outcome } from './handler.js';
import type { SimStore, SimUser } from './store.js';

export class StatusSockets {
  readonly open = new Set<WebSocket>();
  /** The user each open socket belongs to. */
  private readonly owners = new Map<WebSocket, SimUser>();
  /** Denied handshakes, held open without an answer as granian holds them. */
  private readonly unanswered = new Set<Socket>();
  /** Sockets still sending a forced answer (fault injection). */
  private readonly answering = new Set<Socket>();
  private readonly wss = new WebSocketServer({ noServer: true });

  /** `extraHeaders` adds lines to every accepted handshake's answer; `answer`, when it gives one, replaces the answer (fault injection). */
  constructor(
    private readonly store: SimStore,
    private readonly auth: DjangoAuth,
    extraHeaders: () => string[],
    private readonly answer: () => string | undefined = () => undefined,
    private readonly denied: () => 'never' | 'forbidden' = () => 'never',
    private readonly hold: () => boolean = () => false,
  ) {
    this.wss.on('headers', (headers: string[]) => headers.push(...extraHeaders()));
  }

  /** Handshakes held open without an answer (denied under granian 2.5.4, or held by the fault). */
  get pendingHandshakes(): number {
    return this.unanswered.size;
  }

  /** Handshakes denied so far (answered or not), for tests that count refusals. */
  denials = 0;

  private leaveUnanswered(socket: Socket): void {
    this.unanswered.add(socket);
    socket.on('close', () => this.unanswered.delete(socket));
    socket.on('error', () => socket.destroy());
    // The other side leaving ends the wait (the server's sockets are half-open: 'end' comes first).
    socket.on('end', () => socket.destroy());
  }

  /** Handshakes given the forced answer whose sockets are still open (the answer still being sent). */
  get forcedAnswersOpen(): number {
    return this.answering.size;
  }

  readonly upgrade = (req: http.IncomingMessage, socket: Socket, head: Buffer): Outcome => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const forced = this.answer();
    if (forced !== undefined) {
      this.answering.add(socket);
      socket.on('close', () => this.answering.delete(socket));
      socket.on('error', () => socket.destroy());
      socket.end(forced);
      return { status: Number(forced.split(' ')[1]) };
    }
    if (this.hold()) {
      this.leaveUnanswered(socket);
      return { status: 0 };
    }
    if (url.pathname !== '/ws/status/') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      return { status: 404 };
    }
    // Channels' AuthMiddlewareStack: the session cookie only; the header is ignored here.
    const user = this.store.sessionUser(parseCookies(req.headers.cookie ?? '')[this.auth.cookie('sessionid')]);
    if (!user) {
      this.denials++;
      // Channels denies the connection. granian 2.7 (Paperless 3.0.5) answers 403 with an empty
      // body; granian 2.5.4 (2.20.15) never answers it (granian issue #818: no 403 as the ASGI
      // spec asks), and neither do we then.
      if (this.denied() === 'forbidden') socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      else this.leaveUnanswered(socket);
      return { status: 403 };
    }
    // Paperless says nothing on connect: it only forwards status updates.
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.open.add(ws);
      this.owners.set(ws, user);
      ws.on('close', () => {
        this.open.delete(ws);
        this.owners.delete(ws);
      });
    });
    return { status: 101, user: user.username };
  };

  /** Sends a raw message to every socket (fault injection; Paperless itself sends status_update). */
  broadcast(message: unknown): void {
    for (const ws of this.open) ws.send(JSON.stringify(message));
  }

  /** Paperless's status_update about a document `owner` owns: its owner and superusers see it. */
  statusUpdate(owner: SimUser, data: Record<string, unknown>): void {
    const message = JSON.stringify({
      type: 'status_update',
      data: { max_progress: 100, ...data, owner_id: owner.id, users_can_view: [], groups_can_view: [] },
    });
    for (const [ws, user] of this.owners) if (user.is_superuser || user.id === owner.id) ws.send(message);
  }

  close(): void {
    for (const ws of this.open) ws.terminate();
    this.owners.clear();
    for (const socket of this.unanswered) socket.destroy();
    for (const socket of this.answering) socket.destroy();
  }
}
