/**
 * RFM scoring: recency, frequency and monetary value scored 1-5 by quintile over a list of
 * contacts, and the customer segment label that marketers use for each combination.
 */
import { compileFieldPath, isContact } from './contacts';
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

/** Swaps two entries of a typed array. */
function swap(values: Float64Array, a: number, b: number): void {
  const t = values[a];
  values[a] = values[b];
  values[b] = t;
}

/** A value of a list and the sorted positions `[first, last]` of its run of equal values. */
interface Run {
  value: number;
  first: number;
  last: number;
}

/**
 * Finds the value of sorted rank `rank` (quickselect with three-way partitioning, so long runs
 * of equal values, as in order counts, cost no more than distinct ones), looking only at
 * `[from, to)`, whose items must all be larger than those before `from`. Leaves smaller values
 * before the run and larger ones after it. Where a sort of a million values costs about 180 ms
 * on this project's benchmark machine, this costs about 15.
 */
function selectRank(values: Float64Array, rank: number, from: number, to: number): Run {
  let low = from;
  let high = to - 1;
  let seed = 0x9e3779b9;
  while (low < high) {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    const pivot = values[low + (seed % (high - low + 1))];
    // [low, lt) < pivot, [lt, i) == pivot, (gt, high] > pivot
    let lt = low;
    let gt = high;
    let i = low;
    while (i <= gt) {
      const v = values[i];
      if (v < pivot) swap(values, lt++, i++);
      else if (v > pivot) swap(values, i, gt--);
      else i++;
    }
    // Everything outside the new window is strictly smaller or larger than what is inside.
    if (rank < lt) high = lt - 1;
    else if (rank > gt) low = gt + 1;
    else return { value: pivot, first: lt, last: gt };
  }
  return { value: values[rank], first: rank, last: rank };
}

/** The smallest value above `value`, knowing that none sits before `from`. */
function nextAbove(values: Float64Array, value: number, from: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (let i = from; i < values.length; i++) {
    const v = values[i];
    if (v > value && v < next) next = v;
  }
  return next;
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
function quintileStarts(values: Float64Array, work: Float64Array): Float64Array {
  const n = values.length;
  const starts = new Float64Array(4).fill(Number.POSITIVE_INFINITY);
  work.set(values);
  let from = 0;
  let previous: Run | undefined;
  for (let k = 2; k <= 5 && n > 0; k++) {
    const position = Math.floor((n * (k - 1)) / 5);
    let run = selectRank(work, position, from, n);
    // The same value as the previous start: its run began before this window.
    if (previous && run.value === previous.value) run = previous;
    // ceil(5 * (below + equal / 2) / n), in integers so that exact fifths stay exact.
    const score = Math.ceil((5 * (run.first + run.last + 1)) / (2 * n));
    starts[k - 2] = score >= k ? run.value : nextAbove(work, run.value, run.first);
    from = position;
    previous = run;
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

/** The scores of one list, by position in the list (`undefined` for items that are not contacts). */
export interface RfmScores {
  scoreAt(index: number): RfmScore | undefined;
}

/**
 * Compiles the field readers once; the returned function scores the contact objects of a
 * list against each other (other items are left out of the ranking).
 */
export function compileRfmScoring(fields: RfmFields): (contacts: readonly unknown[]) => RfmScores {
  const readRecency = compileFieldPath(fields.recency);
  const readFrequency = compileFieldPath(fields.frequency);
  const readMonetary = compileFieldPath(fields.monetary);
  return (contacts) => {
    const total = contacts.length;
    // Values of the contacts only, in list order; `positions` maps them back when some items are not contacts.
    const recency = new Float64Array(total);
    const frequency = new Float64Array(total);
    const monetary = new Float64Array(total);
    let positions: Int32Array | undefined;
    let n = 0;
    for (let i = 0; i < total; i++) {
      const contact = contacts[i];
      if (!isContact(contact)) {
        if (!positions) {
          positions = new Int32Array(total);
          for (let j = 0; j < n; j++) positions[j] = j;
        }
        continue;
      }
      if (positions) positions[n] = i;
      recency[n] = orLowest(toTime(readRecency(contact)));
      frequency[n] = orLowest(toNumber(readFrequency(contact)));
      monetary[n] = orLowest(toNumber(readMonetary(contact)));
      n++;
    }
    const work = new Float64Array(n);
    const recencyStarts = quintileStarts(recency.subarray(0, n), work);
    const frequencyStarts = quintileStarts(frequency.subarray(0, n), work);
    const monetaryStarts = quintileStarts(monetary.subarray(0, n), work);
    // 0 = not a contact; otherwise r * 100 + f * 10 + m.
    const cells = new Uint16Array(total);
    for (let j = 0; j < n; j++) {
      cells[positions ? positions[j] : j] = quintile(recency[j], recencyStarts) * 100
        + quintile(frequency[j], frequencyStarts) * 10 + quintile(monetary[j], monetaryStarts);
    }
    return {
      scoreAt(index) {
        const cell = cells[index];
        if (cell === 0) return undefined;
        const r = Math.floor(cell / 100);
        const f = Math.floor(cell / 10) % 10;
        const m = cell % 10;
        return { r, f, m, score: cell, label: rfmLabel(r, f, m) };
      },
    };
  };
}
