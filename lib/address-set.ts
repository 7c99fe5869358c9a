/**
 * A set of e-mail addresses compared as `normaliseEmail` compares them (surrounding
 * whitespace and letter case ignored), built for de-duplicating a million contacts.
 *
 * Why not `new Set(addresses.map(normaliseEmail))`: measured on this project's benchmark
 * machine, that costs about 1 microsecond per contact (a lower-cased copy of every address,
 * a growing hash table rehashed as it doubles, garbage collection of both), as much as all
 * the rest of the segmentation together. Here the table is sized once from the list
 * length, lives in typed arrays, and holds each address as it came (no copy): a look-up
 * hashes the address without allocating, and compares text only when hashes are equal.
 *
 * Only for valid addresses (`isValidEmail`): those are ASCII once trimmed, so folding
 * A-Z to a-z is exactly what `toLowerCase` does to them.
 */

/** FNV-1a over the trimmed address with A-Z folded to a-z. */
export function addressHash(trimmed: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < trimmed.length; i++) {
    let code = trimmed.charCodeAt(i);
    if (code >= 65 && code <= 90) code += 32;
    hash = Math.imul(hash ^ code, 0x01000193);
  }
  return hash | 0;
}

function sameAddress(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 65 && x <= 90) x += 32;
    if (y >= 65 && y <= 90) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Addresses are identified by a number chosen by the caller (a contact's position in its
 * list) and read back through `addressOf` only to confirm a hash match, so the set holds no
 * strings at all: one typed array of (id, hash) pairs.
 */
export class AddressSet {
  private readonly mask: number;
  /** Per slot, two entries: 1 + id (0 when free), and the address hash. */
  private readonly slots: Int32Array;
  private count = 0;

  /** `expected`: how many addresses may be added (the table never grows). */
  constructor(expected: number, private readonly addressOf: (id: number) => string) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * 2);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the trimmed address of `id`; false when an equal address was already there. */
  add(id: number, trimmed: string, hash: number): boolean {
    const slot = this.find(trimmed, hash);
    if (this.slots[slot] !== 0) return false;
    if (this.count * 2 >= this.mask + 1) throw new RangeError('AddressSet is full');
    this.slots[slot] = id + 1;
    this.slots[slot + 1] = hash;
    this.count++;
    return true;
  }

  has(trimmed: string, hash: number): boolean {
    return this.slots[this.find(trimmed, hash)] !== 0;
  }

  /** The slot holding an equal address, or the free slot where it belongs (linear probing). */
  private find(trimmed: string, hash: number): number {
    let slot = ((hash ^ (hash >>> 16)) & this.mask) * 2;
    for (;;) {
      const entry = this.slots[slot];
      if (entry === 0) return slot;
      if (this.slots[slot + 1] === hash && sameAddress(this.addressOf(entry - 1), trimmed)) return slot;
      slot = (slot + 2) & (this.mask * 2 + 1);
    }
  }
}

/** Bits of the hash sorted per pass: three passes over 2,048 counters, which stay in cache. */
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;

/**
 * Which addresses repeat one earlier in the list, compared as `AddressSet` compares them: the
 * flag of every occurrence but the first of each address. `ids` are the list positions that
 * have an address, ascending; `hashes` and `addressOf` give each position's hash and text.
 *
 * Why not an `AddressSet` of the whole list: its table of a million contacts (16 MB) is
 * looked up at random, one cache miss per contact; measured on this project's benchmark
 * machine, about 200 ms of a million-contact segmentation. Here the (hash, position) pairs
 * are radix-sorted instead (stable, so equal hashes keep list order), in sequential passes,
 * and only neighbours with equal hashes are compared as text: about a tenth of that.
 */
export function repeatedAddresses(ids: Int32Array, hashes: Int32Array, addressOf: (id: number) => string, total: number): Uint8Array {
  const n = ids.length;
  let keys = new Uint32Array(n);
  let order = Int32Array.from(ids);
  for (let j = 0; j < n; j++) keys[j] = hashes[order[j]] >>> 0;
  let nextKeys = new Uint32Array(n);
  let nextOrder = new Int32Array(n);
  const counts = new Int32Array(RADIX);
  for (let shift = 0; shift < 32; shift += RADIX_BITS) {
    counts.fill(0);
    for (let j = 0; j < n; j++) counts[(keys[j] >>> shift) & (RADIX - 1)]++;
    let start = 0;
    for (let d = 0; d < RADIX; d++) {
      const count = counts[d];
      counts[d] = start;
      start += count;
    }
    for (let j = 0; j < n; j++) {
      const to = counts[(keys[j] >>> shift) & (RADIX - 1)]++;
      nextKeys[to] = keys[j];
      nextOrder[to] = order[j];
    }
    [keys, nextKeys] = [nextKeys, keys];
    [order, nextOrder] = [nextOrder, order];
  }
  const repeated = new Uint8Array(total);
  for (let first = 0; first < n;) {
    let end = first + 1;
    while (end < n && keys[end] === keys[first]) end++;
    // Equal hashes, in list order: each is a repeat when an earlier first occurrence has the same text.
    for (let j = first + 1; j < end; j++) {
      const address = addressOf(order[j]);
      for (let k = first; k < j; k++) {
        if (repeated[order[k]] === 0 && sameAddress(addressOf(order[k]), address)) {
          repeated[order[j]] = 1;
          break;
        }
      }
    }
    first = end;
  }
  return repeated;
}
