import { resolve } from 'node:path';
import express, { type Router } from 'express';
import type { BrandConfig } from '../config/config.js';
import { darken } from '../config/colour.js';
import { logoPath } from './pages.js';

/**
 * The branding the pages link to: the accent colour as a tiny stylesheet (the
 * CSP allows no inline style) and the logo file, when one is configured.
 */
export function brandRouter(brand: BrandConfig): Router {
  const router = express.Router();
  const css = `:root { --accent: ${brand.accent}; --accent-hover: ${darken(brand.accent, 0.2)}; }\n`;
  router.get('/_gateway/brand.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=300').send(css);
  });
  const path = logoPath(brand);
  if (brand.logo && 'file' in brand.logo && path) {
    const file = resolve(brand.logo.file);
    router.get(path, (_req, res, next) => {
      // An SVG opened on its own runs its scripts in the gateway's origin: forbid them.
      res.set({ 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", 'X-Content-Type-Options': 'nosniff' });
      res.sendFile(file, { maxAge: '1h' }, (err) => err && next(err));
    });
  }
  return router;
}
