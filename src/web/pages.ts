import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';

export const VIEWS_DIR = fileURLToPath(new URL('../../views/', import.meta.url));

/** Security headers for the gateway's own pages only; Paperless's responses are left as Paperless sends them. */
const PAGE_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
};

/** Server-rendered pages with autoescaping on: every value from a request is text, never markup. */
export class Pages {
  private readonly env: nunjucks.Environment;

  constructor() {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), { autoescape: true });
  }

  render(res: ServerResponse, status: number, view: string, context: Record<string, unknown>): void {
    const html = this.env.render(view, context);
    for (const [name, value] of Object.entries(PAGE_HEADERS)) res.setHeader(name, value);
    res.statusCode = status;
    res.end(html);
  }

  error(res: ServerResponse, status: number, title: string, message: string): void {
    this.render(res, status, 'error.njk', { title, message, status });
  }
}
