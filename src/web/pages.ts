import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import helmet from 'helmet';
import nunjucks from 'nunjucks';
import type { BrandConfig, WebConfig } from '../config/config.js';
import type { I18n } from './i18n.js';
import { VIEWS_DIR } from './views-dir.js';

export { VIEWS_DIR };

/** Where a logo file from GATEWAY_BRAND_LOGO is served (its extension kept, for the content type). */
export function logoPath(brand: BrandConfig): string | undefined {
  if (!brand.logo) return undefined;
  return 'url' in brand.logo ? brand.logo.url.href : `/_gateway/brand/logo${extname(brand.logo.file).toLowerCase()}`;
}

/**
 * Security headers for the gateway's own pages only (sign-in, errors);
 * Paperless's responses are left as Paperless sends them. No inline script
 * or style anywhere, so the CSP can be strict; a logo URL's origin is the
 * one exception, for images only.
 */
function pageHeaders(brand: BrandConfig) {
  const logoOrigin = brand.logo && 'url' in brand.logo ? [brand.logo.url.origin] : [];
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        // Only the gateway's own files (webauthn.js); never inline.
        scriptSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', ...logoOrigin],
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
}

/**
 * Server-rendered pages with autoescaping on: every value from a request is
 * text, never markup. Each page is rendered in the request's language with
 * the configured branding.
 */
export class Pages {
  private readonly env: nunjucks.Environment;
  private readonly headers: ReturnType<typeof helmet>;
  private readonly brand: { title: string; logo?: string; footer?: string; footerUrl?: string };

  constructor(
    readonly web: WebConfig,
    private readonly i18n: I18n,
  ) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader(VIEWS_DIR), { autoescape: true });
    // Dates as ISO days: read the same in every language, no locale data needed.
    this.env.addFilter('isoDate', (ms: number) => new Date(ms).toISOString());
    this.env.addFilter('isoDay', (ms: number) => new Date(ms).toISOString().slice(0, 10));
    // A key to type by hand, in groups of four (authenticator apps ignore the spaces).
    this.env.addFilter('groupsOf4', (text: string) => text.replace(/(.{4})(?=.)/g, '$1 '));
    this.env.addFilter('isoMinute', (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
    this.headers = pageHeaders(web.brand);
    const logo = logoPath(web.brand);
    this.brand = {
      title: web.brand.title,
      ...(logo ? { logo } : {}),
      ...(web.brand.footer ? { footer: web.brand.footer } : {}),
      ...(web.brand.footerUrl ? { footerUrl: web.brand.footerUrl.href } : {}),
    };
  }

  render(req: IncomingMessage, res: ServerResponse, status: number, view: string, context: Record<string, unknown>): void {
    const lang = this.i18n.language(req);
    const html = this.env.render(view, { ...context, lang, t: this.i18n.translator(lang), brand: this.brand });
    // helmet sets its headers synchronously and then calls next.
    this.headers(req, res, () => undefined);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Content-Language', lang);
    res.setHeader('Vary', 'Accept-Language');
    res.setHeader('Cache-Control', 'no-store');
    res.statusCode = status;
    res.end(html);
  }

  /** `title` and `message` in English; the page shows them in the request's language. */
  error(req: IncomingMessage, res: ServerResponse, status: number, title: string, message: string): void {
    this.render(req, res, status, 'error.njk', { title, message, status });
  }
}
