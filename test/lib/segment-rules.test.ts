import assert from 'node:assert/strict';
import type { Contact } from '../../lib/segmentation/contacts';
import { isMarketingError } from '../../lib/errors';
import { REGEX_TEXT_LIMIT } from '../../lib/safe-regex';
import { compileRuleGroup, OPERATORS, type Condition, type Rule } from '../../lib/segmentation/segment-rules';

const NOW = Date.UTC(2025, 0, 31, 12);
const DAY = 86_400_000;

/** Which of the contacts one condition selects (by `id`). */
function select(condition: Condition, contacts: Contact[]): unknown[] {
  const matches = compileRuleGroup({ join: 'all', rules: [condition] }, 'test');
  return contacts.filter((contact) => matches(contact, NOW)).map((contact) => contact.id);
}

function compileFailure(rules: Rule[], join: 'all' | 'any' = 'all'): { code: string; params: Record<string, string | number>; message: string } {
  try {
    compileRuleGroup({ join, rules }, 'VIP');
  } catch (err) {
    assert.ok(isMarketingError(err), String(err));
    return err;
  }
  assert.fail('compiled');
}

describe('lib/segmentation/segment-rules', () => {
  describe('operators', () => {
    const people: Contact[] = [
      { id: 1, country: 'FR', city: 'Paris', orders: 3, spent: '120.50', tags: ['vip', 'newsletter'], note: 'Loves cheese', optIn: 'yes' },
      { id: 2, country: 'fr', city: 'Lyon', orders: '12', spent: 80, tags: 'newsletter, promo', note: '', optIn: false },
      { id: 3, country: 'DE', city: 'Berlin', orders: 0, spent: 0, tags: [], optIn: 'no' },
      { id: 4, city: null, orders: '3.0', tags: ['VIP'], note: 'likes wine', address: { city: 'Paris' } },
    ];

    it('equals / does not equal, with and without case', () => {
      assert.deepEqual(select({ field: 'country', op: 'eq', value: 'FR' }, people), [1]);
      assert.deepEqual(select({ field: 'country', op: 'eq', value: 'FR', ignoreCase: true }, people), [1, 2]);
      assert.deepEqual(select({ field: 'country', op: 'neq', value: 'FR', ignoreCase: true }, people), [3, 4]);
      assert.deepEqual(select({ field: 'address.city', op: 'eq', value: 'Paris' }, people), [4]);
    });

    it('contains / does not contain, on text and on lists', () => {
      assert.deepEqual(select({ field: 'note', op: 'contains', value: 'CHEESE', ignoreCase: true }, people), [1]);
      assert.deepEqual(select({ field: 'tags', op: 'contains', value: 'vip' }, people), [1]);
      assert.deepEqual(select({ field: 'tags', op: 'contains', value: 'vip', ignoreCase: true }, people), [1, 4]);
      assert.deepEqual(select({ field: 'note', op: 'ncontains', value: 'wine' }, people), [1, 2, 3]);
    });

    it('starts with, ends with, matches regex', () => {
      assert.deepEqual(select({ field: 'city', op: 'starts', value: 'par', ignoreCase: true }, people), [1]);
      assert.deepEqual(select({ field: 'city', op: 'ends', value: 'n' }, people), [2, 3]);
      assert.deepEqual(select({ field: 'city', op: 'regex', value: '^(Paris|Lyon)$' }, people), [1, 2]);
      assert.deepEqual(select({ field: 'city', op: 'regex', value: '^b', ignoreCase: true }, people), [3]);
      assert.deepEqual(select({ field: 'orders', op: 'regex', value: '^\\d$' }, people), [1, 3]);
      assert.deepEqual(select({ field: 'tags', op: 'regex', value: '^VIP$', ignoreCase: true }, people), [1, 4]);
    });

    it('matches regex in bounded time on hostile text, and not on text over the length limit', () => {
      const bios: Contact[] = [
        { id: 1, bio: `${'a'.repeat(32)}!` },
        { id: 2, bio: 'a'.repeat(32) },
        { id: 3, bio: `${'a'.repeat(49_999)}!` },
        { id: 4, bio: 'a'.repeat(REGEX_TEXT_LIMIT + 1) },
      ];
      assert.deepEqual(select({ field: 'bio', op: 'regex', value: '(a+)+$' }, bios), [2]);
    });

    it('is in list / is not in list, from text or JSON, type-aware', () => {
      assert.deepEqual(select({ field: 'country', op: 'in', value: 'FR, BE, CH' }, people), [1]);
      assert.deepEqual(select({ field: 'country', op: 'in', value: '["fr","de"]', valueType: 'json', ignoreCase: true }, people), [1, 2, 3]);
      assert.deepEqual(select({ field: 'orders', op: 'in', value: '[3, 12]', valueType: 'json' }, people), [1, 2, 4]);
      assert.deepEqual(select({ field: 'orders', op: 'in', value: '3, 12' }, people), [1, 2]);
      assert.deepEqual(select({ field: 'country', op: 'nin', value: 'FR,DE' }, people), [2, 4]);
    });

    it('is empty / is not empty', () => {
      assert.deepEqual(select({ field: 'note', op: 'empty' }, people), [2, 3]);
      assert.deepEqual(select({ field: 'tags', op: 'empty' }, people), [3]);
      assert.deepEqual(select({ field: 'city', op: 'nempty' }, people), [1, 2, 3]);
    });

    it('greater / less, numbers in text included', () => {
      assert.deepEqual(select({ field: 'orders', op: 'gt', value: '3' }, people), [2]);
      assert.deepEqual(select({ field: 'orders', op: 'gte', value: 3, valueType: 'num' }, people), [1, 2, 4]);
      assert.deepEqual(select({ field: 'spent', op: 'lt', value: '100' }, people), [2, 3]);
      assert.deepEqual(select({ field: 'spent', op: 'lte', value: '120.5' }, people), [1, 2, 3]);
      assert.deepEqual(select({ field: 'city', op: 'lt', value: 'M' }, people), [2, 3]);
    });

    it('is between, inclusive and in either order', () => {
      assert.deepEqual(select({ field: 'orders', op: 'between', value: '3', value2: '12' }, people), [1, 2, 4]);
      assert.deepEqual(select({ field: 'orders', op: 'between', value: '12', value2: '4' }, people), [2]);
    });

    it('is true / is false', () => {
      assert.deepEqual(select({ field: 'optIn', op: 'true' }, people), [1]);
      assert.deepEqual(select({ field: 'optIn', op: 'false' }, people), [2, 3]);
    });

    it('has tags / lacks tags, any of and all of, lists or comma-separated text', () => {
      assert.deepEqual(select({ field: 'tags', op: 'hasTags', value: 'vip, promo' }, people), [1, 2]);
      assert.deepEqual(select({ field: 'tags', op: 'hasTags', value: 'vip, promo', ignoreCase: true }, people), [1, 2, 4]);
      assert.deepEqual(select({ field: 'tags', op: 'hasTags', value: '["vip","newsletter"]', valueType: 'json', tagMatch: 'all' }, people), [1]);
      // lacks all of = has none of them; lacks any of = misses at least one of them.
      assert.deepEqual(select({ field: 'tags', op: 'lacksTags', value: 'vip, newsletter', tagMatch: 'all' }, people), [3, 4]);
      assert.deepEqual(select({ field: 'tags', op: 'lacksTags', value: 'vip, newsletter', tagMatch: 'any' }, people), [2, 3, 4]);
    });

    it('dates: before, after, within the last N days, more than N days ago', () => {
      const dated: Contact[] = [
        { id: 'iso', last: '2025-01-30' },
        { id: 'date', last: new Date(NOW - 10 * DAY) },
        { id: 'epoch', last: NOW - 100 * DAY },
        { id: 'offset', last: '2024-06-01T10:00:00+02:00' },
        { id: 'future', last: new Date(NOW + DAY) },
        { id: 'none' },
        { id: 'text', last: 'yesterday' },
      ];
      assert.deepEqual(select({ field: 'last', op: 'before', value: '2024-12-01', valueType: 'date' }, dated), ['epoch', 'offset']);
      assert.deepEqual(select({ field: 'last', op: 'after', value: '2025-01-01T00:00:00Z' }, dated), ['iso', 'date', 'future']);
      assert.deepEqual(select({ field: 'last', op: 'withinDays', value: '30', valueType: 'num' }, dated), ['iso', 'date']);
      assert.deepEqual(select({ field: 'last', op: 'olderThanDays', value: 90 }, dated), ['epoch', 'offset']);
      // ISO thresholds in ordered comparisons compare as dates too.
      assert.deepEqual(select({ field: 'last', op: 'gte', value: '2025-01-21' }, dated), ['iso', 'date', 'future']);
    });

    it('compares a configured date for equality with any form of the same instant', () => {
      const dated: Contact[] = [{ id: 1, d: '2024-05-01' }, { id: 2, d: new Date('2024-05-01T00:00:00Z') },
        { id: 3, d: '2024-05-01T00:00:00.000Z' }, { id: 4, d: '2024-05-02' }];
      assert.deepEqual(select({ field: 'd', op: 'eq', value: '2024-05-01' }, dated), [1, 2, 3]);
    });

    it('keeps numeric-looking text as text for equality (phone numbers, postcodes)', () => {
      const phones: Contact[] = [{ id: 1, phone: '+33612345678' }, { id: 2, phone: '0033612345678' }, { id: 3, zip: '01234' }, { id: 4, zip: 1234 }];
      assert.deepEqual(select({ field: 'phone', op: 'eq', value: '+33612345678' }, phones), [1]);
      // A number field is compared as a number: a postcode a spreadsheet stored as 1234 still matches.
      assert.deepEqual(select({ field: 'zip', op: 'eq', value: '01234' }, phones), [3, 4]);
      assert.deepEqual(select({ field: 'zip', op: 'eq', value: '1234' }, phones), [4]);
    });

    it('has a test for every listed operator', () => {
      const covered = new Set(['eq', 'neq', 'contains', 'ncontains', 'starts', 'ends', 'regex', 'in', 'nin', 'empty', 'nempty',
        'gt', 'gte', 'lt', 'lte', 'between', 'true', 'false', 'hasTags', 'lacksTags', 'before', 'after', 'withinDays', 'olderThanDays']);
      assert.deepEqual([...OPERATORS].sort(), [...covered].sort());
    });
  });

  describe('groups', () => {
    const contacts: Contact[] = [
      { id: 1, country: 'FR', orders: 5, vip: true },
      { id: 2, country: 'DE', orders: 5, vip: false },
      { id: 3, country: 'FR', orders: 0, vip: true },
      { id: 4, country: 'IT', orders: 9, vip: true },
    ];
    const run = (rules: Rule[], join: 'all' | 'any') => {
      const matches = compileRuleGroup({ join, rules }, 'test');
      return contacts.filter((c) => matches(c, NOW)).map((c) => c.id);
    };

    it('joins conditions with all / any, nested to any depth', () => {
      assert.deepEqual(run([{ field: 'country', op: 'eq', value: 'FR' }, { field: 'orders', op: 'gt', value: '0' }], 'all'), [1]);
      assert.deepEqual(run([{ field: 'country', op: 'eq', value: 'FR' }, { field: 'orders', op: 'gt', value: '0' }], 'any'), [1, 2, 3, 4]);
      // vip AND (country FR OR (orders > 8 AND country IT))
      assert.deepEqual(run([
        { field: 'vip', op: 'true' },
        { join: 'any', rules: [
          { field: 'country', op: 'eq', value: 'FR' },
          { join: 'all', rules: [{ field: 'orders', op: 'gt', value: '8' }, { field: 'country', op: 'eq', value: 'IT' }] },
        ] },
      ], 'all'), [1, 3, 4]);
      // four and five conditions take the general path
      const four: Rule[] = [{ field: 'vip', op: 'true' }, { field: 'orders', op: 'gte', value: '0' },
        { field: 'country', op: 'nempty' }, { field: 'country', op: 'neq', value: 'IT' }];
      assert.deepEqual(run(four, 'all'), [1, 3]);
      assert.deepEqual(run([...four, { field: 'orders', op: 'gt', value: '100' }], 'any'), [1, 2, 3, 4]);
    });

    it('keeps negations, nesting and empty groups apart', () => {
      // NOT vip OR (country not in FR,DE AND (empty any-group OR orders >= 9)) OR empty all-group inside any
      assert.deepEqual(run([
        { field: 'vip', op: 'false' },
        { join: 'all', rules: [
          { field: 'country', op: 'nin', value: 'FR, DE' },
          { join: 'any', rules: [{ join: 'any', rules: [] }, { field: 'orders', op: 'gte', value: '9' }] },
        ] },
      ], 'any'), [2, 4]);
      assert.deepEqual(run([{ field: 'country', op: 'neq', value: 'FR' }, { join: 'all', rules: [] }], 'all'), [2, 4]);
      assert.deepEqual(run([{ join: 'any', rules: [] }, { field: 'country', op: 'neq', value: 'FR' }], 'any'), [2, 4]);
    });

    it('reads fields whose names need quoting, nested or missing', () => {
      const odd: Contact[] = [
        { id: 1, "it's": 'yes', 'a"b': { 'c\\d': 3 } },
        { id: 2, "it's": 'no' },
        { id: 3, 'a"b': 'text' },
      ];
      const pick = (condition: Condition) => select(condition, odd);
      assert.deepEqual(pick({ field: "it's", op: 'true' }), [1]);
      assert.deepEqual(pick({ field: 'a"b.c\\d', op: 'gte', value: '3' }), [1]);
      assert.deepEqual(pick({ field: 'a"b.c\\d', op: 'empty' }), [2, 3]);
      assert.deepEqual(pick({ field: 'missing.field', op: 'nempty' }), []);
    });

    it('gives rule sets of one shape their own values, though they share generated code', () => {
      const byCountry = ['FR', 'DE', 'IT'].map((country) =>
        compileRuleGroup({ join: 'all', rules: [{ field: 'country', op: 'eq', value: country }, { field: 'orders', op: 'gte', value: '1' }] }, country));
      for (let round = 0; round < 2; round++) {
        assert.deepEqual(byCountry.map((matches) => contacts.filter((c) => matches(c, NOW)).map((c) => c.id)), [[1], [2], [4]]);
      }
    });

    it('treats an empty group as everyone (all) or no one (any)', () => {
      assert.deepEqual(run([], 'all'), [1, 2, 3, 4]);
      assert.deepEqual(run([], 'any'), []);
    });
  });

  describe('compile errors name the segment and the condition', () => {
    it('bad regex', () => {
      const err = compileFailure([{ field: 'country', op: 'eq', value: 'FR' }, { join: 'any', rules: [{ field: 'city', op: 'regex', value: '([a-z' }] }]);
      assert.equal(err.code, 'badRegex');
      assert.equal(err.params.segment, 'VIP');
      assert.equal(err.params.condition, '2.1');
      assert.equal(err.params.field, 'city');
      assert.match(err.message, /Segment "VIP", condition 2\.1 \(city regex\): invalid regular expression/);
    });

    it('regex that cannot run in bounded time', () => {
      const err = compileFailure([{ field: 'country', op: 'eq', value: 'FR' }, { join: 'any', rules: [{ field: 'bio', op: 'regex', value: '(\\w+)\\1' }] }]);
      assert.equal(err.code, 'unsupportedRegex');
      assert.equal(err.params.segment, 'VIP');
      assert.equal(err.params.condition, '2.1');
      assert.equal(err.params.field, 'bio');
      assert.equal(err.params.value, '(\\w+)\\1');
      assert.match(err.message, /Segment "VIP", condition 2\.1 \(bio regex\): regular expression "\(\\w\+\)\\1" is refused/);
    });

    it('bad date, bad days, bad number', () => {
      assert.equal(compileFailure([{ field: 'last', op: 'before', value: '2024-02-45' }]).code, 'badDate');
      assert.equal(compileFailure([{ field: 'last', op: 'after', value: 'yesterday' }]).code, 'badDate');
      assert.equal(compileFailure([{ field: 'last', op: 'gt', value: 'soon', valueType: 'date' }]).code, 'badDate');
      assert.equal(compileFailure([{ field: 'last', op: 'withinDays', value: '-3' }]).code, 'badDays');
      assert.equal(compileFailure([{ field: 'orders', op: 'gt', value: 'many', valueType: 'num' }]).code, 'badNumber');
    });

    it('unknown operator, missing field, missing value, bad list, bad between, bad join', () => {
      const unknown = compileFailure([{ field: 'a', op: 'eq', value: '1' }, { field: 'a', op: 'resembles', value: 'x' }]);
      assert.equal(unknown.code, 'unknownOperator');
      assert.equal(unknown.params.condition, '2');
      assert.equal(unknown.params.op, 'resembles');
      assert.equal(compileFailure([{ field: ' ', op: 'eq', value: '1' }]).code, 'missingField');
      assert.equal(compileFailure([{ field: 'a', op: 'contains', value: '' }]).code, 'missingValue');
      assert.equal(compileFailure([{ field: 'a', op: 'in', value: ' , ' }]).code, 'badList');
      assert.equal(compileFailure([{ field: 'a', op: 'in', value: '[1,', valueType: 'json' }]).code, 'badList');
      assert.equal(compileFailure([{ field: 'a', op: 'between', value: '1', value2: '2024-01-01' }]).code, 'badBetween');
      const join = compileFailure([{ join: 'some' as 'all', rules: [] }]);
      assert.equal(join.code, 'badJoin');
      assert.equal(join.params.condition, '1');
    });
  });
});
