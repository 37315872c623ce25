import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import helmet from 'helmet';
import nunjucks from 'nunjucks';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

/**
 * Security headers for the gateway's own pages only (sign-in, errors);
 * Paperless's responses are left as Paperless sends them. No inline script
 * or style anywhere, so the CSP can be strict.
 */
const pageHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
  referrerPolicy: { policy: 'same-origin' },
  // HSTS belongs to whoever terminates TLS; a gateway on plain http behind a proxy must not guess.
  strictTransportSecurity: false,
});

/** Server-rendered pages with autoescaping on: every value from a request is text, never markup. */
export class Pages {
  private readonly env: nunjucks.Environment;

  constructor() {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), { autoescape: true });
  }

  render(req: IncomingMessage, res: ServerResponse, status: number, view: string, context: Record<string, unknown>): void {
    const html = this.env.render(view, context);
    // helmet sets its headers synchronously and then calls next.
    pageHeaders(req, res, () => undefined);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.statusCode = status;
    res.end(html);
  }

  error(req: IncomingMessage, res: ServerResponse, status: number, title: string, message: string): void {
    this.render(req, res, status, 'error.njk', { title, message, status });
  }
}
