/**
 * Exponential backoff with "equal jitter", for every retry of the package (email delivery,
 * inference server requests): half of each wait is fixed, half random, so that work that
 * failed together does not come back together.
 */

export interface Backoff {
  /** The wait before the first retry; it doubles for each further one. */
  baseDelayMs: number;
  /** Cap on a single wait. */
  maxDelayMs: number;
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffDelay(backoff: Backoff, retry: number, random: () => number = Math.random): number {
  const exponential = Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** (retry - 1));
  return exponential / 2 + random() * (exponential / 2);
}
