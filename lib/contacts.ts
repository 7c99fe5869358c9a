/**
 * What every step of a campaign needs to know about a contact: reading (nested) fields,
 * recognising a valid address, normalising it for de-duplication, and consent.
 */

export type Contact = Record<string, unknown>;

export function isContact(value: unknown): value is Contact {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Compiles a field path such as `email` or `address.city` into a reader, once per deploy,
 * so that reading it per contact costs no string splitting.
 */
export function compileFieldPath(path: string): (contact: unknown) => unknown {
  const keys = path.split('.').map((key) => key.trim());
  if (keys.length === 1) {
    const [key] = keys;
    return (contact) => (isContact(contact) ? contact[key] : undefined);
  }
  return (contact) => {
    let value: unknown = contact;
    for (const key of keys) {
      if (typeof value !== 'object' || value === null) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
}

// The HTML specification's "valid e-mail address" (what browsers accept in <input type=email>),
// with a top-level domain required: campaigns go to the Internet, not to local hosts.
const EMAIL_PATTERN =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

/** RFC 5321 caps a forward path at 256 octets, so an address at 254 characters. */
const MAX_EMAIL_LENGTH = 254;

export function isValidEmail(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_EMAIL_LENGTH && EMAIL_PATTERN.test(value.trim());
}

/** The de-duplication key of an address: case- and surrounding-whitespace-insensitive. */
export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}

const OPT_OUT_WORDS = new Set(['true', 'yes', 'y', '1']);

/**
 * Whether a consent field says the contact opted out. `true` is the canonical value; the
 * strings and the number that spreadsheets and CSV files make of it count too, because a
 * mail that should not have gone out cannot be taken back.
 */
export function isOptedOutValue(value: unknown): boolean {
  if (value === true || value === 1) return true;
  return typeof value === 'string' && OPT_OUT_WORDS.has(value.trim().toLowerCase());
}
