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

/**
 * Where each quintile starts: `score(v) = 1 + count(v >= starts[k])`. A value's score is
 * ceil(5 * midRank / n), where midRank = (values below it) + (values equal to it) / 2: ties
 * share a score, input order never matters, and a list of one (an event) scores 3.
 *
 * The start of quintile k is the value x at sorted position p = floor(n * (k - 1) / 5) when x's
 * own score reaches k, else the next larger value: everything below x scores lower, and the
 * next larger value has a mid-rank above p.
 */
function quintileStarts(values: Float64Array): number[] {
  const n = values.length;
  const sorted = values.slice().sort();
  return [2, 3, 4, 5].map((k) => {
    if (n === 0) return Number.POSITIVE_INFINITY;
    const position = Math.floor((n * (k - 1)) / 5);
    const value = sorted[position];
    let below = position;
    while (below > 0 && sorted[below - 1] === value) below--;
    let end = position + 1;
    while (end < n && sorted[end] === value) end++;
    // ceil(5 * (below + equal / 2) / n), in integers so that exact fifths stay exact.
    const score = Math.ceil((5 * (below + end)) / (2 * n));
    if (score >= k) return value;
    return end < n ? sorted[end] : Number.POSITIVE_INFINITY;
  });
}

function quintile(value: number, starts: readonly number[]): number {
  let score = 1;
  for (const start of starts) if (value >= start) score++;
  return score;
}

/** A missing or unreadable value ranks lowest: no purchase data is the weakest signal. */
function orLowest(value: number): number {
  return Number.isNaN(value) ? Number.NEGATIVE_INFINITY : value;
}

/**
 * The 125 possible scores, one frozen object per cell: contacts of one cell share it, so that a
 * scored list of a million contacts carries 125 more objects, not a million; frozen, so that no
 * flow can change the score of every contact in a cell through one of them.
 */
const SCORES = new Map<number, Readonly<RfmScore>>();
for (let r = 1; r <= 5; r++) {
  for (let f = 1; f <= 5; f++) {
    for (let m = 1; m <= 5; m++) {
      const score = r * 100 + f * 10 + m;
      SCORES.set(score, Object.freeze({ r, f, m, score, label: rfmLabel(r, f, m) }));
    }
  }
}

/** The scores of one list, by position in the list (`undefined` for items that are not contacts). */
export interface RfmScores {
  /** A shared, frozen object: equal cells give the same object. */
  scoreAt(index: number): Readonly<RfmScore> | undefined;
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
    // The three values of each contact, in list order; other items are skipped.
    const recency = new Float64Array(contacts.length);
    const frequency = new Float64Array(contacts.length);
    const monetary = new Float64Array(contacts.length);
    let count = 0;
    for (const contact of contacts) {
      if (!isContact(contact)) continue;
      recency[count] = orLowest(toTime(readRecency(contact)));
      frequency[count] = orLowest(toNumber(readFrequency(contact)));
      monetary[count] = orLowest(toNumber(readMonetary(contact)));
      count++;
    }
    const recencyStarts = quintileStarts(recency.subarray(0, count));
    const frequencyStarts = quintileStarts(frequency.subarray(0, count));
    const monetaryStarts = quintileStarts(monetary.subarray(0, count));
    let j = 0; // the next contact's values
    const scores = contacts.map((contact) => {
      if (!isContact(contact)) return undefined;
      const cell = quintile(recency[j], recencyStarts) * 100 + quintile(frequency[j], frequencyStarts) * 10
        + quintile(monetary[j], monetaryStarts);
      j++;
      return SCORES.get(cell);
    });
    return { scoreAt: (index) => scores[index] };
  };
}
