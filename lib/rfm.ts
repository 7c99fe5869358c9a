/**
 * RFM scoring: recency, frequency and monetary value scored 1-5 by quintile over a list of
 * contacts, and the customer segment label that marketers use for each combination.
 */
import { compileFieldPath, isContact, type Contact } from './contacts';
import { toNumber, toTime } from './values';

export interface RfmFields {
  /** Date of the last purchase (a `Date`, an ISO string or epoch milliseconds). */
  recency: string;
  /** Number of purchases. */
  frequency: string;
  /** Money spent. */
  monetary: string;
}

export type RfmLabel =
  | 'Champions' | 'Loyal' | 'Potential Loyalists' | 'New Customers' | 'Promising' | 'Need Attention'
  | 'About to Sleep' | 'At Risk' | "Can't Lose Them" | 'Hibernating' | 'Lost';

export interface RfmScore {
  r: number;
  f: number;
  m: number;
  /** The RFM cell written as a number: r=5, f=4, m=3 gives 543. */
  score: number;
  label: RfmLabel;
}

/**
 * The label of each cell of the recency x frequency-monetary grid (FM = (F + M) / 2 rounded
 * half up): the common 11-segment RFM map. Rows are R 1..5, columns FM 1..5.
 */
export const RFM_LABELS: readonly (readonly RfmLabel[])[] = [
  /* R=1 */ ['Lost', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
  /* R=2 */ ['Hibernating', 'Hibernating', 'At Risk', 'At Risk', "Can't Lose Them"],
  /* R=3 */ ['About to Sleep', 'About to Sleep', 'Need Attention', 'Loyal', 'Loyal'],
  /* R=4 */ ['Promising', 'Potential Loyalists', 'Potential Loyalists', 'Loyal', 'Loyal'],
  /* R=5 */ ['New Customers', 'Potential Loyalists', 'Potential Loyalists', 'Champions', 'Champions'],
];

export function rfmLabel(r: number, f: number, m: number): RfmLabel {
  return RFM_LABELS[r - 1][Math.round((f + m) / 2) - 1];
}

/** The value at one sorted position of a list, how many values are below it and equal to it, and the next larger value. */
interface RankedValue {
  value: number;
  below: number;
  equal: number;
  /** The smallest value above `value`; `+Infinity` when there is none. */
  next: number;
}

/** Lists this short are sorted outright: bucketing them would cost more than it saves. */
const SORT_BELOW = 4096;
/** Buckets per level: enough that a million values of a real range leave a few hundred per bucket. */
const BUCKETS = 4096;

/** What a sorted list says about its position `rank`. */
function rankInSorted(sorted: Float64Array, rank: number): RankedValue {
  const value = sorted[rank];
  let first = rank;
  while (first > 0 && sorted[first - 1] === value) first--;
  let end = rank + 1;
  while (end < sorted.length && sorted[end] === value) end++;
  return { value, below: first, equal: end - first, next: end < sorted.length ? sorted[end] : Number.POSITIVE_INFINITY };
}

/** What sorting `values` says about the sorted positions `ranks`. */
function rankedBySorting(values: Float64Array, ranks: readonly number[]): RankedValue[] {
  const sorted = values.slice().sort();
  return ranks.map((rank) => rankInSorted(sorted, rank));
}

/**
 * The values at the sorted positions `ranks` (ascending) of a list without NaN, without sorting
 * it: one pass counts the values per bucket of the list's range (buckets keep the values' order:
 * every value of a bucket is below every value of the next, and equal values share a bucket),
 * and a second gathers the values of the few buckets that hold a wanted position, which alone
 * are sorted. A bucket of one value throughout, as ties make (order counts, missing dates),
 * needs neither. Measured on this project's benchmark machine, ranking the three values of a
 * million contacts this way takes about 100 ms, against 130 when the chosen buckets were
 * bucketed again, recursively.
 */
function rankedValues(values: Float64Array, ranks: readonly number[]): RankedValue[] {
  const n = values.length;
  if (n < SORT_BELOW) return rankedBySorting(values, ranks);
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v < min && v !== Number.NEGATIVE_INFINITY) min = v;
    if (v > max && v !== Number.POSITIVE_INFINITY) max = v;
  }
  // Bucket 0 holds -Infinity, 1..BUCKETS the finite values, BUCKETS + 1 +Infinity. Halves keep
  // `max - min` finite for any two doubles; every step is monotonic, so buckets keep the order.
  const offset = min * 0.5;
  const scale = min < max ? (BUCKETS - 1) / (max * 0.5 - offset) : 0;
  if (min < max && !(scale > 0 && scale < Number.POSITIVE_INFINITY)) return rankedBySorting(values, ranks);
  const counts = new Int32Array(BUCKETS + 2);
  const lowest = new Float64Array(BUCKETS + 2).fill(Number.POSITIVE_INFINITY);
  const highest = new Float64Array(BUCKETS + 2).fill(Number.NEGATIVE_INFINITY);
  // Each value's bucket, kept for the gathering pass. Written out here rather than called: a
  // call that is not inlined boxes every value passed to it (measured: 2 million objects).
  const buckets = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    // Truncation is the floor here: the product is never negative (and below BUCKETS).
    const b = v === Number.NEGATIVE_INFINITY ? 0 : v === Number.POSITIVE_INFINITY ? BUCKETS + 1
      : 1 + Math.min(BUCKETS - 1, ((v * 0.5 - offset) * scale) | 0);
    buckets[i] = b;
    counts[b]++;
    if (v < lowest[b]) lowest[b] = v;
    if (v > highest[b]) highest[b] = v;
  }
  // Each wanted position's bucket, and the number of values in the buckets below it.
  const wanted = ranks.map((rank) => {
    let below = 0;
    let b = 0;
    while (below + counts[b] <= rank) below += counts[b++];
    return { rank, bucket: b, below };
  });
  const chosen = [...new Set(wanted.map((w) => w.bucket))];
  const mixed = chosen.filter((bucket) => lowest[bucket] !== highest[bucket]);
  const gathered = new Map(mixed.map((bucket) => [bucket, new Float64Array(counts[bucket])]));
  if (mixed.length > 0) {
    const slotOf = new Int8Array(BUCKETS + 2).fill(-1);
    mixed.forEach((bucket, slot) => { slotOf[bucket] = slot; });
    const into = mixed.map((bucket) => gathered.get(bucket) as Float64Array);
    const filled = new Int32Array(mixed.length);
    for (let i = 0; i < n; i++) {
      const slot = slotOf[buckets[i]];
      if (slot >= 0) into[slot][filled[slot]++] = values[i];
    }
    for (const bucketValues of into) bucketValues.sort();
  }
  return wanted.map(({ rank, bucket, below }) => {
    let above = bucket + 1;
    while (above < counts.length && counts[above] === 0) above++;
    const nextBucket = above < counts.length ? lowest[above] : Number.POSITIVE_INFINITY;
    const inBucket = gathered.get(bucket);
    if (inBucket === undefined) return { value: lowest[bucket], below, equal: counts[bucket], next: nextBucket };
    const r = rankInSorted(inBucket, rank - below);
    return { value: r.value, below: below + r.below, equal: r.equal, next: r.next === Number.POSITIVE_INFINITY ? nextBucket : r.next };
  });
}

/**
 * Where each quintile starts: `score(v) = 1 + count(v >= starts[k])`. A value's score is
 * ceil(5 * midRank / n), where midRank = (values below it) + (values equal to it) / 2: ties
 * share a score, input order never matters, and a list of one (an event) scores 3.
 *
 * The start of quintile k is the value x at sorted position p = floor(n * (k - 1) / 5) when x's
 * own score reaches k, else the next larger value: everything below x scores lower, and the
 * next larger value has a mid-rank above p. Finding x takes a selection, not a sort.
 */
function quintileStarts(values: Float64Array): Float64Array {
  const n = values.length;
  const starts = new Float64Array(4).fill(Number.POSITIVE_INFINITY);
  if (n === 0) return starts;
  const positions = [2, 3, 4, 5].map((k) => Math.floor((n * (k - 1)) / 5));
  const ranked = rankedValues(values, positions);
  for (let k = 2; k <= 5; k++) {
    const run = ranked.find((r) => r.below <= positions[k - 2] && positions[k - 2] < r.below + r.equal) as RankedValue;
    // ceil(5 * (below + equal / 2) / n), in integers so that exact fifths stay exact.
    const score = Math.ceil((5 * (2 * run.below + run.equal)) / (2 * n));
    starts[k - 2] = score >= k ? run.value : run.next;
  }
  return starts;
}

function quintile(value: number, starts: Float64Array): number {
  return 1 + (value >= starts[0] ? 1 : 0) + (value >= starts[1] ? 1 : 0) + (value >= starts[2] ? 1 : 0)
    + (value >= starts[3] ? 1 : 0);
}

/** A missing or unreadable value ranks lowest: no purchase data is the weakest signal. */
function orLowest(value: number): number {
  return Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value;
}

/**
 * The 125 possible scores, one frozen object per cell (index r * 100 + f * 10 + m): a contact's
 * `rfm` is one of these, shared, never a new object. Allocating one per contact measured about a
 * fifth of segmenting a fresh million-contact list (the objects and their garbage collection);
 * frozen, so that no flow can change the score of every contact in a cell through one of them.
 */
const SCORES: readonly (Readonly<RfmScore> | undefined)[] = (() => {
  const scores: (Readonly<RfmScore> | undefined)[] = new Array(556).fill(undefined);
  for (let r = 1; r <= 5; r++) {
    for (let f = 1; f <= 5; f++) {
      for (let m = 1; m <= 5; m++) {
        const score = r * 100 + f * 10 + m;
        scores[score] = Object.freeze({ r, f, m, score, label: rfmLabel(r, f, m) });
      }
    }
  }
  return scores;
})();

/** The scores of one list, by position in the list (`undefined` for items that are not contacts). */
export interface RfmScores {
  /** A shared, frozen object: equal cells give the same object. */
  scoreAt(index: number): Readonly<RfmScore> | undefined;
}

/** A list's cells by position: 0 for an item that is not a contact, else r * 100 + f * 10 + m. */
class CellScores implements RfmScores {
  constructor(private readonly cells: Uint16Array) {}

  scoreAt(index: number): Readonly<RfmScore> | undefined {
    return SCORES[this.cells[index]];
  }
}

type FieldReader = (contact: unknown) => unknown;

/** The readers of the three RFM fields, compiled once per deploy. */
export interface RfmFieldReaders {
  recency: FieldReader;
  frequency: FieldReader;
  monetary: FieldReader;
}

export function compileRfmFields(fields: RfmFields): RfmFieldReaders {
  return { recency: compileFieldPath(fields.recency), frequency: compileFieldPath(fields.frequency), monetary: compileFieldPath(fields.monetary) };
}

/**
 * The RFM values of one list's contacts, gathered as another pass over the list meets them,
 * then scored against each other. Segmentation reads each contact's RFM fields in its
 * consent-and-address pass: a separate pass over a million contacts measured about a tenth of
 * the whole segmentation, most of it spent fetching the contacts from memory again. A class,
 * not closures made per list, so that its code stays optimised from one list to the next.
 */
export class RfmValues {
  // Values of the contacts only, in list order; `positions` maps them back to the list.
  private readonly recency: Float64Array;
  private readonly frequency: Float64Array;
  private readonly monetary: Float64Array;
  private readonly positions: Int32Array;
  private count = 0;

  constructor(private readonly fields: RfmFieldReaders, private readonly total: number) {
    this.recency = new Float64Array(total);
    this.frequency = new Float64Array(total);
    this.monetary = new Float64Array(total);
    this.positions = new Int32Array(total);
  }

  /** Reads the contact at list position `index`; contacts only, in increasing positions. */
  add(index: number, contact: Contact): void {
    const n = this.count++;
    this.positions[n] = index;
    this.recency[n] = orLowest(toTime(this.fields.recency(contact)));
    this.frequency[n] = orLowest(toNumber(this.fields.frequency(contact)));
    this.monetary[n] = orLowest(toNumber(this.fields.monetary(contact)));
  }

  /** Scores the contacts added against each other; other positions score `undefined`. */
  scores(): RfmScores {
    const n = this.count;
    const recency = this.recency.subarray(0, n);
    const frequency = this.frequency.subarray(0, n);
    const monetary = this.monetary.subarray(0, n);
    const recencyStarts = quintileStarts(recency);
    const frequencyStarts = quintileStarts(frequency);
    const monetaryStarts = quintileStarts(monetary);
    const cells = new Uint16Array(this.total);
    for (let j = 0; j < n; j++) {
      cells[this.positions[j]] = quintile(recency[j], recencyStarts) * 100
        + quintile(frequency[j], frequencyStarts) * 10 + quintile(monetary[j], monetaryStarts);
    }
    return new CellScores(cells);
  }
}

/**
 * Compiles the field readers once; the returned function scores the contact objects of a
 * list against each other (other items are left out of the ranking).
 */
export function compileRfmScoring(fields: RfmFields): (contacts: readonly unknown[]) => RfmScores {
  const readers = compileRfmFields(fields);
  return (contacts) => {
    const values = new RfmValues(readers, contacts.length);
    for (let i = 0; i < contacts.length; i++) {
      const contact = contacts[i];
      if (isContact(contact)) values.add(i, contact);
    }
    return values.scores();
  };
}
