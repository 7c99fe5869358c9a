/**
 * Deterministic synthetic contacts for benchmarks: the shape and the mess of a real export
 * (numbers as strings, missing dates, opted-out, invalid and duplicate addresses).
 */
import type { Contact } from '../lib/segmentation/contacts';

/** mulberry32: a tiny seeded PRNG, so every run segments the same list. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ann', 'Bob', 'Chloé', 'David', 'Emma', 'Farid', 'Giulia', 'Hiro', 'Inès', 'Jonas', 'Kofi', 'Lena',
  'Marta', 'Noah', 'Olga', 'Pedro', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Victor', 'Wen', 'Yara', 'Zoé'];
const LAST = ['Martin', 'Bernard', 'Dubois', 'Müller', 'Schmidt', 'Rossi', 'Garcia', 'Smith', 'Kowalski', 'Tanaka'];
const PLACES: [string, string, string][] = [
  ['FR', 'Paris', 'fr'], ['FR', 'Lyon', 'fr'], ['BE', 'Brussels', 'fr'], ['CH', 'Geneva', 'fr'], ['DE', 'Berlin', 'de'],
  ['DE', 'Hamburg', 'de'], ['IT', 'Milan', 'it'], ['ES', 'Madrid', 'es'], ['GB', 'London', 'en'], ['US', 'Boston', 'en'],
];
const TAGS = ['newsletter', 'vip', 'b2b', 'webinar', 'trial', 'churned', 'promo', 'events'];
const DOMAINS = ['example.com', 'mail.example.org', 'example.net', 'shop.example.co.uk'];
const DAY = 86_400_000;
/** Dates fall in the two years before this instant (fixed, so results are stable). */
export const GENERATED_NOW = Date.UTC(2025, 0, 1);

function generateOne(i: number, next: () => number): Contact {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)];
  const [country, city, lang] = pick(PLACES);
  const firstName = pick(FIRST);
  const lastName = pick(LAST);
  const roll = next();
  // ~0.5% invalid addresses, ~0.5% duplicates of an earlier contact in another case, ~2% opted out.
  const email = roll < 0.005 ? `${firstName}.${lastName}.at.${pick(DOMAINS)}`
    : roll < 0.01 && i > 0 ? ` User${Math.floor(next() * i)}@${DOMAINS[Math.floor(next() * i) % DOMAINS.length]}`.toUpperCase()
      : `user${i}@${DOMAINS[i % DOMAINS.length]}`;
  const tags: string[] = [];
  for (const tag of TAGS) if (next() < 0.25) tags.push(tag);
  const orders = Math.floor(next() ** 2 * 40);
  const contact: Contact = {
    email,
    firstName,
    lastName,
    country,
    city,
    lang,
    tags,
    signupDate: new Date(GENERATED_NOW - Math.floor(next() * 730) * DAY).toISOString(),
    // Spreadsheet habits: every tenth order count is text.
    orders: i % 10 === 0 ? String(orders) : orders,
    totalSpent: Math.round(orders * (20 + next() * 80) * 100) / 100,
    unsubscribed: next() < 0.02,
    address: { city, country },
  };
  if (orders > 0) contact.lastPurchaseDate = new Date(GENERATED_NOW - Math.floor(next() * 730) * DAY).toISOString();
  return contact;
}

/**
 * `count` contacts. Built in chunks through JSON so that the strings are flat, as they are
 * when a list arrives from a file, a database or an HTTP request.
 */
export function generateContacts(count: number, seed = 42): Contact[] {
  const next = random(seed);
  const contacts: Contact[] = [];
  const chunk: Contact[] = [];
  for (let i = 0; i < count; i++) {
    chunk.push(generateOne(i, next));
    if (chunk.length === 10_000 || i === count - 1) {
      for (const contact of JSON.parse(JSON.stringify(chunk)) as Contact[]) contacts.push(contact);
      chunk.length = 0;
    }
  }
  return contacts;
}
