import assert from 'node:assert/strict';
import { compileRfmScoring, RFM_LABELS, rfmLabel } from '../../lib/segmentation/rfm';

const FIELDS = { recency: 'lastPurchaseDate', frequency: 'orders', monetary: 'totalSpent' };
const DAY = 86_400_000;

describe('lib/segmentation/rfm', () => {
  it('scores a hand-checked list of ten by quintile and labels each contact', () => {
    // Ranks (0 = lowest) per contact for R, F, M; ten distinct values put ranks 0-1 in quintile 1,
    // 2-3 in 2, 4-5 in 3, 6-7 in 4 and 8-9 in 5. FM = (F + M) / 2 rounded half up.
    const ranks: [string, number, number, number][] = [
      ['A', 9, 9, 9], // 5 5 5 -> FM 5 -> Champions
      ['B', 8, 0, 0], // 5 1 1 -> FM 1 -> New Customers
      ['C', 0, 8, 8], // 1 5 5 -> FM 5 -> Can't Lose Them
      ['D', 1, 1, 1], // 1 1 1 -> FM 1 -> Lost
      ['E', 5, 5, 4], // 3 3 3 -> FM 3 -> Need Attention
      ['F', 6, 7, 6], // 4 4 4 -> FM 4 -> Loyal
      ['G', 7, 2, 3], // 4 2 2 -> FM 2 -> Potential Loyalists
      ['H', 2, 6, 2], // 2 4 2 -> FM 3 -> At Risk
      ['I', 4, 3, 5], // 3 2 3 -> FM 2.5 -> 3 -> Need Attention
      ['J', 3, 4, 7], // 2 3 4 -> FM 3.5 -> 4 -> At Risk
    ];
    const start = Date.UTC(2024, 0, 1);
    const contacts = ranks.map(([id, r, f, m], i) => ({
      id,
      // Every form a date arrives in: ISO text, Date objects, epoch milliseconds.
      lastPurchaseDate: i % 3 === 0 ? new Date(start + r * 10 * DAY).toISOString() : i % 3 === 1 ? new Date(start + r * 10 * DAY) : start + r * 10 * DAY,
      orders: i % 2 ? String(f + 1) : f + 1,
      totalSpent: (m + 1) * 100,
    }));
    const scores = compileRfmScoring(FIELDS)(contacts);
    const actual = contacts.map((contact, i) => [contact.id, scores.scoreAt(i)]);
    assert.deepEqual(actual, [
      ['A', { r: 5, f: 5, m: 5, score: 555, label: 'Champions' }],
      ['B', { r: 5, f: 1, m: 1, score: 511, label: 'New Customers' }],
      ['C', { r: 1, f: 5, m: 5, score: 155, label: "Can't Lose Them" }],
      ['D', { r: 1, f: 1, m: 1, score: 111, label: 'Lost' }],
      ['E', { r: 3, f: 3, m: 3, score: 333, label: 'Need Attention' }],
      ['F', { r: 4, f: 4, m: 4, score: 444, label: 'Loyal' }],
      ['G', { r: 4, f: 2, m: 2, score: 422, label: 'Potential Loyalists' }],
      ['H', { r: 2, f: 4, m: 2, score: 242, label: 'At Risk' }],
      ['I', { r: 3, f: 2, m: 3, score: 323, label: 'Need Attention' }],
      ['J', { r: 2, f: 3, m: 4, score: 234, label: 'At Risk' }],
    ]);
  });

  it('gives every contact of one cell the same frozen score object', () => {
    const contacts = Array.from({ length: 20 }, (_, i) => ({ lastPurchaseDate: 1000 + (i % 10), orders: i % 10, totalSpent: i % 10 }));
    const scores = compileRfmScoring(FIELDS)(contacts);
    for (let i = 0; i < 10; i++) {
      const score = scores.scoreAt(i);
      assert.ok(Object.isFrozen(score));
      assert.equal(scores.scoreAt(i + 10), score);
      const cell = 1 + Math.floor(i / 2);
      assert.deepEqual(score, { r: cell, f: cell, m: cell, score: cell * 111, label: rfmLabel(cell, cell, cell) });
    }
    assert.throws(() => { (scores.scoreAt(0) as { r: number }).r = 5; }, TypeError);
  });

  it('gives ties one score, a single contact the middle score, and missing values the lowest', () => {
    const same = Array.from({ length: 7 }, () => ({ lastPurchaseDate: '2024-05-01', orders: 2, totalSpent: 50 }));
    const sameScores = compileRfmScoring(FIELDS)(same);
    for (let i = 0; i < same.length; i++) assert.deepEqual(sameScores.scoreAt(i), { r: 3, f: 3, m: 3, score: 333, label: 'Need Attention' });

    assert.equal(compileRfmScoring(FIELDS)([{ lastPurchaseDate: '2024-05-01', orders: 9, totalSpent: 900 }]).scoreAt(0)?.label, 'Need Attention');

    const list = [
      { orders: 4, totalSpent: 400, lastPurchaseDate: '2024-04-01' },
      { orders: 'n/a', lastPurchaseDate: 'never' },
      { orders: 2, totalSpent: 200, lastPurchaseDate: '2024-02-01' },
      'not a contact',
      { orders: 3, totalSpent: 300, lastPurchaseDate: '2024-03-01' },
      { orders: 5, totalSpent: 500, lastPurchaseDate: '2024-05-01' },
    ];
    const scores = compileRfmScoring(FIELDS)(list);
    assert.deepEqual(scores.scoreAt(1), { r: 1, f: 1, m: 1, score: 111, label: 'Lost' });
    assert.equal(scores.scoreAt(3), undefined);
    assert.deepEqual([0, 2, 4, 5].map((i) => scores.scoreAt(i)?.r), [4, 2, 3, 5]);
  });

  it('finds the same quintiles as sorting would, on random lists with many ties', () => {
    let state = 12_345;
    const random = (n: number) => { state = (state * 1_103_515_245 + 12_345) % 2_147_483_648; return state % n; };
    for (const size of [1, 2, 3, 4, 5, 6, 9, 10, 11, 37, 100, 1000]) {
      for (const distinct of [1, 2, 3, 7, 1_000_000]) {
        const contacts = Array.from({ length: size }, () => ({
          lastPurchaseDate: random(4) === 0 ? undefined : random(distinct) * DAY,
          orders: random(distinct),
          totalSpent: random(distinct) / 3,
        }));
        const scores = compileRfmScoring(FIELDS)(contacts);
        const reference = (values: number[]) => {
          const sorted = [...values].sort((a, b) => a - b);
          return values.map((v) => {
            const below = sorted.filter((x) => x < v).length;
            const equal = sorted.filter((x) => x === v).length;
            return Math.ceil((5 * (below + equal / 2)) / values.length);
          });
        };
        const r = reference(contacts.map((c) => c.lastPurchaseDate ?? Number.NEGATIVE_INFINITY));
        const f = reference(contacts.map((c) => c.orders));
        const m = reference(contacts.map((c) => c.totalSpent));
        contacts.forEach((_, i) => {
          const score = scores.scoreAt(i);
          assert.deepEqual([score?.r, score?.f, score?.m], [r[i], f[i], m[i]], `size ${size}, distinct ${distinct}, item ${i}`);
        });
      }
    }
  });

  it('finds the same quintiles as sorting would on long lists: ties, infinities, outliers, packed values', () => {
    let state = 99;
    const random = () => { state = (state * 1_103_515_245 + 12_345) % 2_147_483_648; return state / 2_147_483_648; };
    const size = 30_000;
    const lists: Record<string, () => unknown> = {
      'few distinct': () => Math.floor(random() * 40),
      'one value': () => 7,
      'one value and missing ones': () => (random() < 0.3 ? undefined : 7),
      'spread': () => random() * 1e6 - 5e5,
      'one far outlier': () => (random() < 0.0001 ? 1e300 : random() * 100),
      'outliers both sides, infinities': () => {
        const roll = random();
        return roll < 0.01 ? -1e308 : roll < 0.02 ? 1e308 : roll < 0.05 ? 'Infinity' : roll < 0.08 ? '-Infinity' : roll < 0.1 ? undefined : random();
      },
      'packed closer than a bucket': () => 1 + Math.floor(random() * 50) * Number.EPSILON,
      'geometric': () => 2 ** -Math.floor(random() * 1000),
      'subnormal': () => Math.floor(random() * 5) * Number.MIN_VALUE,
    };
    const reference = (values: number[]) => {
      const sorted = Float64Array.from(values).sort();
      const lowerBound = (v: number) => { let lo = 0; let hi = sorted.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < v) lo = mid + 1; else hi = mid; } return lo; };
      const upperBound = (v: number) => { let lo = 0; let hi = sorted.length; while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] <= v) lo = mid + 1; else hi = mid; } return lo; };
      return values.map((v) => Math.ceil((5 * (lowerBound(v) + (upperBound(v) - lowerBound(v)) / 2)) / values.length));
    };
    const read = (value: unknown) => {
      const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      return Number.isNaN(number) ? Number.NEGATIVE_INFINITY : number;
    };
    for (const [name, next] of Object.entries(lists)) {
      const contacts = Array.from({ length: size }, (_, i) => ({ orders: next(), totalSpent: next(), lastPurchaseDate: i }));
      const scores = compileRfmScoring(FIELDS)(contacts);
      const f = reference(contacts.map((c) => read(c.orders)));
      const m = reference(contacts.map((c) => read(c.totalSpent)));
      for (let i = 0; i < size; i++) {
        const score = scores.scoreAt(i);
        if (score?.f !== f[i] || score?.m !== m[i]) assert.fail(`${name}, item ${i}: ${score?.f}/${score?.m}, expected ${f[i]}/${m[i]}`);
      }
      assert.equal(scores.scoreAt(0)?.r, 1, name);
      assert.equal(scores.scoreAt(size - 1)?.r, 5, name);
    }
  });

  it('maps the R x FM grid to the 11 usual labels', () => {
    assert.equal(rfmLabel(5, 5, 4), 'Champions');
    assert.equal(rfmLabel(3, 5, 5), 'Loyal');
    assert.equal(rfmLabel(5, 1, 1), 'New Customers');
    assert.equal(rfmLabel(4, 1, 1), 'Promising');
    assert.equal(rfmLabel(3, 1, 2), 'About to Sleep');
    assert.equal(rfmLabel(1, 5, 5), "Can't Lose Them");
    assert.equal(rfmLabel(2, 1, 2), 'Hibernating');
    assert.equal(rfmLabel(1, 1, 1), 'Lost');
    assert.equal(new Set(RFM_LABELS.flat()).size, 11);
  });
});
