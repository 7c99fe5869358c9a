/**
 * The addresses of one contact list grouped by address, compared as `normaliseEmail` compares
 * them (surrounding whitespace and letter case ignored): which occurrences repeat an earlier
 * one, and which share their address with a record that opted out. Built for a million
 * contacts.
 *
 * Why not `new Set(addresses.map(normaliseEmail))`: measured on this project's benchmark
 * machine, that costs about 1 microsecond per contact (a lower-cased copy of every address, a
 * growing hash table rehashed as it doubles, garbage collection of both), as much as all the
 * rest of the segmentation together. Nor a hash table of typed arrays sized once: it is looked
 * up at random, one cache miss per contact, about 200 ms of a million-contact segmentation.
 * Here a bitmap of hash slots first drops the occurrences whose hash no other one shares (almost
 * all), then the few (hash, position) pairs left are radix-sorted (stable, so equal hashes keep
 * list order), and only neighbours with equal hashes are compared as text: a few percent of
 * that. No address text is kept: it is read back from the list only to confirm equal hashes.
 */

/** What grouping says of an occurrence: it repeats an earlier one, or its address opted out in another record. */
export type AddressVerdict = 'repeat' | 'optedOut';

/** Bits of the hash sorted per pass: three passes over 2,048 counters, which stay in cache. */
const RADIX_BITS = 11;
const RADIX = 1 << RADIX_BITS;
/** `keepSharedHashes`'s two bitmaps stay at 2 MB each (2^24 slots), in the processor's cache. */
const MAX_SLOT_BITS = 24;

/** The valid addresses of one list, added as a pass over the list meets them (positions ascending). */
export class AddressOccurrences {
  private positions: Int32Array;
  /** Each occurrence's hash (`validAddressHash`), as an unsigned sort key. */
  private keys: Uint32Array;
  private count = 0;

  constructor(capacity: number) {
    this.positions = new Int32Array(capacity);
    this.keys = new Uint32Array(capacity);
  }

  add(position: number, hash: number): void {
    this.positions[this.count] = position;
    this.keys[this.count] = hash >>> 0;
    this.count++;
  }

  /**
   * Groups the occurrences by address and gives a verdict on those that have one: when any
   * record of an address opted out (`optedOut(position)`), every other record of it is
   * `optedOut` too; otherwise, with `repeats`, every record after the first is a `repeat`.
   * `addressOf(position)` gives the trimmed address text, read only to confirm equal hashes.
   * Verdicts come in no particular order, each position at most once.
   */
  resolve(addressOf: (position: number) => string, optedOut: (position: number) => boolean, repeats: boolean,
    verdict: (position: number, what: AddressVerdict) => void): void {
    this.keepSharedHashes();
    this.sortByHash();
    const { keys, positions, count } = this;
    for (let first = 0; first < count;) {
      let end = first + 1;
      while (end < count && keys[end] === keys[first]) end++;
      if (end - first > 1) resolveEqualHashes(positions.subarray(first, end), addressOf, optedOut, repeats, verdict);
      first = end;
    }
  }

  /**
   * Keeps only the occurrences that may share their hash with another, in list order: those
   * whose hash's top bits (a slot of a bitmap about sixteen times the count) were met twice.
   * Addresses that appear once, almost all of a real list, are dropped in two sequential passes,
   * so that sorting handles a few percent of the list.
   */
  private keepSharedHashes(): void {
    const { keys, positions, count } = this;
    const slotBits = Math.min(MAX_SLOT_BITS, Math.max(10, 32 - Math.clz32(count) + 4));
    const shift = 32 - slotBits;
    const seen = new Int32Array(1 << (slotBits - 5));
    const shared = new Int32Array(1 << (slotBits - 5));
    for (let j = 0; j < count; j++) {
      const slot = keys[j] >>> shift;
      const bit = 1 << (slot & 31);
      if ((seen[slot >>> 5] & bit) !== 0) shared[slot >>> 5] |= bit;
      else seen[slot >>> 5] |= bit;
    }
    let kept = 0;
    for (let j = 0; j < count; j++) {
      const slot = keys[j] >>> shift;
      if ((shared[slot >>> 5] & (1 << (slot & 31))) === 0) continue;
      keys[kept] = keys[j];
      positions[kept] = positions[j];
      kept++;
    }
    this.count = kept;
  }

  /** Stable least-significant-digit radix sort of the (hash, position) pairs by hash. */
  private sortByHash(): void {
    const n = this.count;
    let keys = this.keys.subarray(0, n);
    let positions = this.positions.subarray(0, n);
    let nextKeys: Uint32Array = new Uint32Array(n);
    let nextPositions: Int32Array = new Int32Array(n);
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
        nextPositions[to] = positions[j];
      }
      [keys, nextKeys] = [nextKeys, keys];
      [positions, nextPositions] = [nextPositions, positions];
    }
    this.keys = keys;
    this.positions = positions;
  }
}

/** One run of equal hashes, in list order: split into addresses by their text, then judged. */
function resolveEqualHashes(positions: Int32Array, addressOf: (position: number) => string, optedOut: (position: number) => boolean,
  repeats: boolean, verdict: (position: number, what: AddressVerdict) => void): void {
  // Equal hashes almost always mean one address; another one here is a hash collision.
  const addresses: { text: string; members: number[] }[] = [];
  for (const position of positions) {
    const text = addressOf(position);
    const same = addresses.find((address) => sameAddress(address.text, text));
    if (same) same.members.push(position);
    else addresses.push({ text, members: [position] });
  }
  for (const { members } of addresses) {
    if (members.length < 2) continue;
    if (members.some(optedOut)) {
      for (const position of members) if (!optedOut(position)) verdict(position, 'optedOut');
    } else if (repeats) {
      for (let k = 1; k < members.length; k++) verdict(members[k], 'repeat');
    }
  }
}

/** Equal once letter case is folded (valid addresses are ASCII: folding A-Z is `toLowerCase`). */
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
