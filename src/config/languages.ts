/** The languages the gateway's pages speak (views/locales/ holds all but English). */
export const LANGUAGES = ['en', 'de', 'fr', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
