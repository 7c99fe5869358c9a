import assert from 'node:assert/strict';
import { isEmptyValue, isFalseValue, isTrueValue, toNumber, toTime } from '../../lib/segmentation/values';

describe('lib/segmentation/values', () => {
  it('reads numbers from numbers and numeric text only', () => {
    assert.equal(toNumber(42), 42);
    assert.equal(toNumber(' 3.5 '), 3.5);
    assert.equal(toNumber('1e3'), 1000);
    for (const no of ['', '   ', 'abc', '12abc', true, null, undefined, new Date(0), [1]]) {
      assert.ok(Number.isNaN(toNumber(no)), String(no));
    }
  });

  it('reads dates from Date objects, ISO text and epoch milliseconds, and never guesses', () => {
    assert.equal(toTime(new Date('2024-03-01T00:00:00Z')), Date.UTC(2024, 2, 1));
    assert.equal(toTime('2024-03-01'), Date.UTC(2024, 2, 1));
    assert.equal(toTime('2024-03-01T10:20:30Z'), Date.UTC(2024, 2, 1, 10, 20, 30));
    assert.equal(toTime('2024-03-01T10:20:30.456Z'), Date.UTC(2024, 2, 1, 10, 20, 30, 456));
    assert.equal(toTime('2024-03-01T10:20:30+02:00'), Date.UTC(2024, 2, 1, 8, 20, 30));
    assert.equal(toTime(1_700_000_000_000), 1_700_000_000_000);
    for (const no of ['12', 'March 1, 2024', '', '2024-13-01', 'not a date', null, undefined, true, {}]) {
      assert.ok(Number.isNaN(toTime(no)), String(no));
    }
  });

  it('parses the common ISO shapes exactly as Date.parse does', () => {
    // The fast path must agree with the engine everywhere, including day overflow and early years.
    const samples = ['0024-02-29', '1969-12-31T23:59:59Z', '2000-02-29T00:00:00.000Z', '2023-02-29', '2024-02-30',
      '2024-01-31T23:59:59.999Z', '9999-12-31', '2024-01-01T24:00:00Z', '2024-01-01T23:60:00Z', '2024-01-01T10:00:00.5Z'];
    let state = 7;
    const next = (n: number) => { state = (state * 1_103_515_245 + 12_345) % 2_147_483_648; return state % n; };
    for (let i = 0; i < 500; i++) {
      const pad = (v: number, w: number) => String(v).padStart(w, '0');
      const date = `${pad(1900 + next(200), 4)}-${pad(1 + next(12), 2)}-${pad(1 + next(31), 2)}`;
      samples.push(date, `${date}T${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}Z`,
        `${date}T${pad(next(24), 2)}:${pad(next(60), 2)}:${pad(next(60), 2)}.${pad(next(1000), 3)}Z`);
    }
    for (const sample of samples) {
      const expected = Date.parse(sample);
      const actual = toTime(sample);
      assert.ok(Object.is(actual, expected), `${sample}: ${actual} !== ${expected}`);
    }
  });

  it('reads yes and no the way spreadsheets write them', () => {
    for (const yes of [true, 1, 'true', 'YES', ' y ', '1']) assert.equal(isTrueValue(yes), true, String(yes));
    for (const no of [false, 0, 'false', 'No', 'n', '0']) assert.equal(isFalseValue(no), true, String(no));
    for (const neither of [undefined, null, '', 'maybe', 2]) {
      assert.equal(isTrueValue(neither), false, String(neither));
      assert.equal(isFalseValue(neither), false, String(neither));
    }
  });

  it('calls missing, blank and empty values empty, and nothing else', () => {
    for (const empty of [undefined, null, '', '  ', [], {}]) assert.equal(isEmptyValue(empty), true, JSON.stringify(empty));
    for (const full of [0, false, 'a', [0], { a: 1 }, new Date(0)]) assert.equal(isEmptyValue(full), false, String(full));
  });
});
