/**
 * What every step of a campaign needs to know about a contact: reading (nested) fields,
 * recognising a valid address, normalising it for de-duplication, and consent.
 */
import { isTrueValue } from './values';

export type Contact = Record<string, unknown>;

export function isContact(value: unknown): value is Contact {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a field path such as `email` or `address.city` into a reader, once per deploy, so that
 * the path is split and trimmed once rather than for every contact. A single key reads contacts
 * only (not lists); a nested path steps through any object, lists included (`tags.0`).
 */
export function compileFieldPath(path: string): (contact: unknown) => unknown {
  const keys = path.split('.').map((key) => key.trim());
  if (keys.length === 1) {
    const [key] = keys;
    return (contact) => (isContact(contact) ? contact[key] : undefined);
  }
  return (contact) => {
    let value = contact;
    for (const key of keys) {
      if (typeof value !== 'object' || value === null) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
}

/** RFC 5321 caps a forward path at 256 octets, so an address at 254 characters. */
const MAX_EMAIL_LENGTH = 254;

/**
 * The HTML specification's "valid e-mail address" (what browsers accept in `<input type=email>`),
 * with a top-level domain required, since campaigns go to the Internet, not to local hosts.
 * Each domain label is bounded (63 characters) and labels are split by dots, so matching stays
 * linear in the address's length.
 */
const EMAIL_PATTERN =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

export function isValidEmail(value: unknown): value is string {
  return validAddress(value) !== undefined;
}

/** The address without its surrounding whitespace when valid. */
export function validAddress(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_EMAIL_LENGTH) return undefined;
  const address = value.trim();
  return EMAIL_PATTERN.test(address) ? address : undefined;
}

/** The de-duplication key of an address: case- and surrounding-whitespace-insensitive. */
export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * Whether a consent field says the contact opted out. `true` is the canonical value; the
 * strings and the number that spreadsheets and CSV files make of it count too, because a
 * mail that should not have gone out cannot be taken back.
 */
export function isOptedOutValue(value: unknown): boolean {
  return isTrueValue(value);
}
