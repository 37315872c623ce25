import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import Negotiator from 'negotiator';
import { VIEWS_DIR } from './views-dir.js';

import { LANGUAGES, type Language } from '../config/languages.js';

export { LANGUAGES, type Language };

export type Translate = (english: string) => string;

/**
 * Gettext-style catalogs: the English text is the key, so a message added in
 * English shows in English until translated (a test lists every message that
 * lacks a translation). One JSON file per language in views/locales/.
 */
export class I18n {
  private readonly catalogs = new Map<Language, Record<string, string>>();

  /** `forced`: GATEWAY_LANGUAGE; without it, each request's Accept-Language decides. */
  constructor(private readonly forced?: Language) {
    for (const lang of LANGUAGES) {
      if (lang === 'en') continue;
      this.catalogs.set(lang, JSON.parse(readFileSync(`${VIEWS_DIR}locales/${lang}.json`, 'utf8')) as Record<string, string>);
    }
  }

  language(req: IncomingMessage): Language {
    if (this.forced) return this.forced;
    const chosen = new Negotiator({ headers: { 'accept-language': req.headers['accept-language'] ?? '' } }).language([...LANGUAGES]);
    return (chosen as Language | undefined) ?? 'en';
  }

  translator(lang: Language): Translate {
    const catalog = this.catalogs.get(lang);
    return (english) => catalog?.[english] ?? english;
  }

  /** Every English key a catalog has, for the completeness test. */
  keys(lang: Exclude<Language, 'en'>): string[] {
    return Object.keys(this.catalogs.get(lang) ?? {});
  }
}
