/**
 * The pieces of the unsubscribe endpoint that do not depend on Node-RED: the language of
 * the answer page, the page itself, the request-rate limit, and the answer (status, page
 * kind) for each request. The marketing-suppress node puts them together.
 */

export type PageLanguage = 'en' | 'zh';

/** The texts of the answer pages in one language (a node's locale catalog, `page`). */
export interface PageTexts {
  confirmTitle: string;
  confirmText: string;
  confirmButton: string;
  doneTitle: string;
  doneText: string;
  invalidTitle: string;
  invalidText: string;
  busyTitle: string;
  busyText: string;
  unavailableTitle: string;
  unavailableText: string;
}

export type PageKind = 'confirm' | 'done' | 'invalid' | 'busy' | 'unavailable';

/** Largest request body (and `Content-Length`) the endpoint looks at, in bytes. */
export const MAX_BODY_BYTES = 4096;

function languageOf(tag: string): PageLanguage | undefined {
  const lower = tag.trim().toLowerCase();
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh';
  if (lower === 'en' || lower.startsWith('en-')) return 'en';
  return undefined;
}

/**
 * The page language: `lang` from the link (e.g. `&lang={{contact.language}}` in the
 * unsubscribe URL) when it is English or Chinese, else the first of them the browser's
 * `Accept-Language` prefers, else `fallback`.
 */
export function pickLanguage(lang: unknown, acceptLanguage: unknown, fallback: PageLanguage): PageLanguage {
  if (typeof lang === 'string') {
    const chosen = languageOf(lang);
    if (chosen) return chosen;
  }
  if (typeof acceptLanguage === 'string' && acceptLanguage.length <= 1000) {
    const ranked = acceptLanguage.split(',').map((part, index) => {
      const [tag, ...params] = part.split(';');
      const q = params.map((param) => /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
      return { language: languageOf(tag), q: q === undefined ? 1 : Number(q), index };
    }).filter((entry) => entry.language !== undefined && entry.q > 0);
    ranked.sort((a, b) => b.q - a.q || a.index - b.index);
    if (ranked.length) return ranked[0].language as PageLanguage;
  }
  return fallback;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * A small self-contained HTML page: title, text and, for `confirm`, a button that POSTs
 * `List-Unsubscribe=One-Click` back to the same URL (the token stays in its query).
 */
export function renderPage(kind: PageKind, texts: PageTexts, language: PageLanguage): string {
  const title = escapeHtml(texts[`${kind}Title`]);
  const text = escapeHtml(texts[`${kind}Text`]);
  const form = kind === 'confirm'
    ? `<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">${escapeHtml(texts.confirmButton)}</button></form>`
    : '';
  return '<!DOCTYPE html>'
    + `<html lang="${language === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">`
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
    + `<title>${title}</title>`
    + '<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}'
    + 'button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}</style></head>'
    + `<body><h1>${title}</h1><p>${text}</p>${form}</body></html>`;
}

/** Headers of every answer page: never cached, the token never sent on as a referrer. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
});

/**
 * A token bucket: `perSecond` requests a second on average, bursts of up to `perSecond`
 * (at least 1). `perSecond` 0 lets everything through.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(private readonly perSecond: number, now = Date.now()) {
    this.capacity = Math.max(1, perSecond);
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Takes one request's token; false when the rate is exceeded. */
  take(now = Date.now()): boolean {
    if (this.perSecond <= 0) return true;
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whole seconds until the next request would be let through. */
  retryAfter(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / Math.max(this.perSecond, 1e-9)));
  }
}

/** The size of a parsed request body as Node-RED's HTTP In node gives it (`msg.payload`), in bytes. */
export function bodySize(payload: unknown): number {
  if (payload === undefined || payload === null) return 0;
  if (typeof payload === 'string') return Buffer.byteLength(payload);
  if (Buffer.isBuffer(payload)) return payload.length;
  try {
    return Buffer.byteLength(JSON.stringify(payload) ?? '');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
