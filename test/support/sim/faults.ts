/** Fault injection around the simulated Paperless: outages, slowness, odd handshakes, stalled uploads. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpHandler } from './handler.js';
import { send } from './http.js';

export class Faults {
  /** Forced answer for every request, to simulate outages. */
  failWith?: { status: number; body: unknown };
  /** Delay before answering, to simulate a slow Paperless. */
  delayMs = 0;
  /** Takes over every HTTP answer, for what no Paperless view does (trailers, early hints). */
  answerWith?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Set-Cookie values added to every accepted websocket handshake. */
  upgradeSetCookies: string[] = [];
  /** Raw bytes that answer every websocket handshake instead (a refusal), after which the socket ends. */
  upgradeAnswer?: string;
  /** While set, no websocket handshake is answered at all, accepted or not (a Paperless that hangs). */
  holdHandshakes = false;
  /** While set, uploads wait here before their body is read. */
  private uploadsHeld?: Promise<void>;

  http(inner: HttpHandler): HttpHandler {
    return async (req, res) => {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.answerWith) {
        this.answerWith(req, res);
        return { status: 200 };
      }
      if (this.failWith) {
        send(res, { status: this.failWith.status, body: this.failWith.body });
        return { status: this.failWith.status };
      }
      if (req.method === 'POST' && req.url?.startsWith('/api/documents/post_document/')) await this.uploadsHeld;
      return inner(req, res);
    };
  }

  upgradeHeaders(): string[] {
    return this.upgradeSetCookies.map((c) => `Set-Cookie: ${c}`);
  }

  /** Uploads stop being read until the returned function is called (a Paperless that stops reading). */
  holdUploads(): () => void {
    let release = () => undefined as void;
    this.uploadsHeld = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.uploadsHeld = undefined;
      release();
    };
  }
}
