/**
 * Signed unsubscribe tokens: what the unsubscribe URL of an email carries, so that the
 * marketing-suppress node can record an unsubscribe without a database of links, and so
 * that nobody can unsubscribe someone else or learn from the endpoint whether an address is
 * known.
 *
 * A token is `<payload>.<mac>`, both base64url (URL-safe, no padding):
 * - payload: the JSON array `[1, address, campaign, list, issuedAt]` (format version, the
 *   normalised address, the campaign, the list, seconds since the epoch);
 * - mac: HMAC-SHA256 of `marketing-unsubscribe.v1.` + payload, keyed by the secret.
 *
 * Rotation: a token signed with the current secret is accepted whatever its age (a link in
 * an old email must keep working). A token signed with the previous secret is accepted for
 * `graceDays` days after it was issued; no token is signed with the previous secret after
 * the rotation, so the previous secret stops mattering `graceDays` after the rotation and
 * can then be removed. The MAC is compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MarketingError } from '../errors';
import { normaliseEmail } from '../segmentation/contacts';

/** What a token says. */
export interface UnsubscribeClaims {
  /** The normalised address. */
  email: string;
  campaign: string;
  list: string;
  /** When the token was made, ms since the epoch (to the second). */
  issuedAt: number;
}

export interface TokenSecrets {
  /** The secret new tokens are signed with. */
  current: string;
  /** The secret before the last rotation, if any: accepted for `graceDays` after each token's issue. */
  previous?: string;
  graceDays: number;
}

export type TokenVerdict =
  | { valid: true; claims: UnsubscribeClaims; signedWith: 'current' | 'previous' }
  | { valid: false; reason: 'malformed' | 'tooLong' | 'forged' | 'expired' };

/** Days a token of the previous secret stays valid after its issue, unless configured. */
export const DEFAULT_GRACE_DAYS = 90;
/** The fewest characters of a secret: 16 random characters are 96 bits or more. */
export const MIN_SECRET_LENGTH = 16;
/** The longest token looked at: an address (254), a campaign and a list name fit easily. */
export const MAX_TOKEN_LENGTH = 1024;
/** The longest campaign or list name a token carries. */
export const MAX_NAME_LENGTH = 200;

const FORMAT = 1;
const CONTEXT = 'marketing-unsubscribe.v1.';
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Clock difference tolerated between the node that signs and the one that verifies. */
const FUTURE_SKEW_MS = 5 * 60 * 1000;

function mac(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(CONTEXT).update(payload).digest();
}

/** Throws what keeps a secret from being used. */
export function checkSecret(secret: string, which: 'current' | 'previous'): void {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new MarketingError('secretTooShort', `The ${which} unsubscribe secret has ${secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed`, {
      which,
      length: secret.length,
      min: MIN_SECRET_LENGTH,
    });
  }
}

/** The token for `address` in `campaign` and `list`, signed with `secret`. */
export function signUnsubscribeToken(
  claims: { email: string; campaign: string; list: string },
  secret: string,
  now = Date.now(),
): string {
  checkSecret(secret, 'current');
  const payload = Buffer.from(
    JSON.stringify([FORMAT, normaliseEmail(claims.email), claims.campaign, claims.list, Math.floor(now / 1000)]),
  ).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

function decodeClaims(payload: string): UnsubscribeClaims | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5 || parsed[0] !== FORMAT) return undefined;
  const [, email, campaign, list, issued] = parsed as unknown[];
  if (typeof email !== 'string' || !email.includes('@') || email.length > 254) return undefined;
  if (typeof campaign !== 'string' || typeof list !== 'string' || campaign.length > MAX_NAME_LENGTH || list.length > MAX_NAME_LENGTH) return undefined;
  if (typeof issued !== 'number' || !Number.isSafeInteger(issued) || issued < 0) return undefined;
  return { email, campaign, list, issuedAt: issued * 1000 };
}

/**
 * Whether `token` was made by `signUnsubscribeToken` with one of `secrets` and is still
 * valid. Both secrets' MACs are always computed and compared in constant time, so that the
 * time taken tells nothing about which part of a forged token was wrong.
 */
export function verifyUnsubscribeToken(token: unknown, secrets: TokenSecrets, now = Date.now()): TokenVerdict {
  if (typeof token !== 'string') return { valid: false, reason: 'malformed' };
  if (token.length > MAX_TOKEN_LENGTH) return { valid: false, reason: 'tooLong' };
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return { valid: false, reason: 'malformed' };
  const payload = token.slice(0, dot);
  const signature = token.slice(dot + 1);
  if (!BASE64URL.test(payload) || !BASE64URL.test(signature)) return { valid: false, reason: 'malformed' };
  const given = Buffer.from(signature, 'base64url');
  // Only the canonical spelling of 32 bytes (the last character carries 2 unused bits that
  // a decoder ignores); anything else is compared as zeros, so that the work is the same.
  const wellFormed = given.length === 32 && given.toString('base64url') === signature;
  const presented = wellFormed ? given : Buffer.alloc(32);
  const matchesCurrent = timingSafeEqual(presented, mac(secrets.current, payload));
  const matchesPrevious = secrets.previous ? timingSafeEqual(presented, mac(secrets.previous, payload)) : false;
  if (!wellFormed || (!matchesCurrent && !matchesPrevious)) return { valid: false, reason: 'forged' };
  const claims = decodeClaims(payload);
  // A payload that was signed but does not decode was signed by something else.
  if (!claims) return { valid: false, reason: 'forged' };
  if (claims.issuedAt > now + FUTURE_SKEW_MS) return { valid: false, reason: 'forged' };
  if (matchesCurrent) return { valid: true, claims, signedWith: 'current' };
  if (now - claims.issuedAt > secrets.graceDays * DAY_MS) return { valid: false, reason: 'expired' };
  return { valid: true, claims, signedWith: 'previous' };
}
