/**
 * Text helpers shared by the copy checks: comparison forms, sentences, excerpts.
 */

/**
 * The form two texts are compared in: Unicode NFKC (full-width letters and digits become
 * ASCII, `％` becomes `%`) and lower case, so that a banned phrase or an offer code matches
 * whatever width or case the model wrote it in.
 */
export function comparable(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/** Han ideographs: Chinese text is matched by characters, not by words. */
export const HAN = /\p{Script=Han}/u;

/** The sentences of a text, split after `.`, `!`, `?`, their full-width forms and line breaks. */
export function sentences(text: string): string[] {
  return text.split(/(?<=[.!?。！？])\s*|\n+/u).map((s) => s.trim()).filter((s) => s !== '');
}

/** The words of a text; each Han character counts as one word, as Chinese has no spaces. */
export function words(text: string): string[] {
  return comparable(text).match(/\p{Script=Han}|[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu) ?? [];
}

/** About `max` characters of `text` around `start`..`end`, cut between words, with an ellipsis where cut. */
export function excerpt(text: string, start = 0, end = text.length, max = 60): string {
  const room = Math.max(0, max - (end - start));
  let from = Math.max(0, start - Math.floor(room / 2));
  let to = Math.min(text.length, Math.max(end, from + max));
  if (from > 0) {
    const space = text.slice(from, start).search(/\s/);
    if (space >= 0) from += space + 1;
  }
  if (to < text.length) {
    const space = text.slice(end, to).search(/\s\S*$/);
    if (space >= 0) to = end + space;
  }
  return `${from > 0 ? '…' : ''}${text.slice(from, to).replace(/\s+/g, ' ').trim()}${to < text.length ? '…' : ''}`;
}

/** Splits a list written by a person: commas, semicolons, line breaks (full-width ones too). */
export function listOf(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => listOf(item));
  if (typeof value === 'number') return [String(value)];
  if (typeof value !== 'string') return [];
  return value.split(/[,;\n，；、]/u).map((item) => item.trim()).filter((item) => item !== '');
}
