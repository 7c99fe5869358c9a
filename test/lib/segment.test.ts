import assert from 'node:assert/strict';
import { normaliseEmail, type Contact } from '../../lib/segmentation/contacts';
import { isMarketingError } from '../../lib/errors';
import { cloneContact, compileSegmentRules, type SegmentationConfig } from '../../lib/segmentation/segment';

const NOW = Date.UTC(2025, 0, 31);
const ids = (contacts: unknown[]) => contacts.map((c) => (c as Contact).id);

describe('lib/segmentation/segment', () => {
  const segments: SegmentationConfig['segments'] = [
    { name: 'France', join: 'all', rules: [{ field: 'country', op: 'eq', value: 'FR' }] },
    { name: 'Big spenders', join: 'all', rules: [{ field: 'spent', op: 'gte', value: '100' }] },
  ];
  const contacts = (): unknown[] => [
    { id: 1, email: 'ann@example.com', country: 'FR', spent: 150 },
    { id: 2, email: 'bob@example.com', country: 'DE', spent: 300 },
    { id: 3, email: ' ANN@Example.com ', country: 'FR', spent: 10 }, // duplicate of 1
    { id: 4, email: 'carl@example', country: 'FR', spent: 10 }, // invalid address
    { id: 5, email: 'dora@example.com', country: 'FR', unsubscribed: true },
    { id: 6, email: 'DORA@example.com', country: 'FR', unsubscribed: false }, // opted out in record 5
    'not a contact',
    { id: 8, email: 'eve@example.com', country: 'IT', spent: 5 }, // no segment
    { id: 9, email: 'fred@example.com', country: 'FR', spent: '250', unsubscribed: 'yes' },
  ];

  it('routes to the first matching segment and explains every contact not targeted', () => {
    const result = compileSegmentRules({ segments }).segment(contacts(), { now: NOW, keepNotTargeted: true });
    assert.deepEqual(result.segments.map(ids), [[1], [2]]);
    assert.deepEqual(ids(result.notTargeted.contacts), [3, 4, 5, 6, undefined, 8, 9]);
    assert.deepEqual(result.notTargeted.reasons, ['duplicate', 'invalidEmail', 'optedOut', 'optedOut', 'notAContact', 'noSegment', 'optedOut']);
    assert.deepEqual(result.notTargetedCounts, { notAContact: 1, optedOut: 3, suppressed: 0, frequencyCap: 0, invalidEmail: 1, duplicate: 1, noSegment: 1 });
  });

  it('keeps suppressed addresses out, every record of them, with reason suppressed', () => {
    const suppressed = new Set(['ann@example.com', 'bob@example.com', 'dora@example.com']);
    const asked: string[] = [];
    const result = compileSegmentRules({ segments }).segment(contacts(), {
      now: NOW,
      keepNotTargeted: true,
      isSuppressed: (address) => {
        asked.push(address);
        return suppressed.has(address);
      },
    });
    assert.deepEqual(result.segments.map(ids), [[], []]);
    assert.deepEqual(ids(result.notTargeted.contacts), [1, 2, 3, 4, 5, 6, undefined, 8, 9]);
    // An opt-out still reads as an opt-out; the duplicate of a suppressed address is suppressed too.
    assert.deepEqual(result.notTargeted.reasons, ['suppressed', 'suppressed', 'suppressed', 'invalidEmail', 'optedOut', 'optedOut', 'notAContact', 'noSegment', 'optedOut']);
    assert.equal(result.notTargetedCounts.suppressed, 3);
    assert.ok(asked.every((address) => address === address.trim().toLowerCase()), 'asked with normalised addresses');
  });

  it('keeps capped addresses out, reason frequencyCap, after suppressed ones', () => {
    const result = compileSegmentRules({ segments }).segment(contacts(), {
      now: NOW,
      keepNotTargeted: true,
      isSuppressed: (address) => address === 'bob@example.com',
      isCapped: (address) => address === 'ann@example.com' || address === 'bob@example.com',
    });
    assert.deepEqual(result.segments.map(ids), [[], []]);
    assert.deepEqual(result.notTargeted.reasons, ['frequencyCap', 'suppressed', 'frequencyCap', 'invalidEmail', 'optedOut', 'optedOut', 'notAContact', 'noSegment', 'optedOut']);
    assert.equal(result.notTargetedCounts.frequencyCap, 2);
  });

  it('routes to every matching segment, copying the contact for the second segment on', () => {
    const input = contacts();
    const result = compileSegmentRules({ segments, matchMode: 'every' }).segment(input, { now: NOW });
    assert.deepEqual(result.segments.map(ids), [[1], [1, 2]]);
    assert.equal(result.segments[0][0], input[0]);
    assert.notEqual(result.segments[1][0], input[0]);
    assert.deepEqual(result.segments[1][0], input[0]);
    assert.equal(result.segments[1][1], input[1]);
    // Counts are kept even when the not-targeted contacts are not.
    assert.deepEqual(result.notTargeted, { contacts: [], reasons: [] });
    assert.equal(result.notTargetedCounts.optedOut, 3);
  });

  it('turns each check off with an empty field or dedupe: false', () => {
    const noConsent = compileSegmentRules({ segments, optOutField: '' }).segment(contacts(), { now: NOW });
    assert.deepEqual(noConsent.segments.map(ids), [[1, 5, 9], [2]]); // 6 is now a duplicate of 5
    const noEmail = compileSegmentRules({ segments, emailField: '' }).segment(contacts(), { now: NOW });
    assert.deepEqual(noEmail.segments.map(ids), [[1, 3, 4, 6], [2]]);
    const noDedupe = compileSegmentRules({ segments, dedupe: false }).segment(contacts(), { now: NOW });
    assert.deepEqual(noDedupe.segments.map(ids), [[1, 3], [2]]);
  });

  it('scores RFM on every contact object and lets rules use it', () => {
    const list = Array.from({ length: 10 }, (_, i) => ({
      id: i, email: `c${i}@example.com`, lastPurchaseDate: new Date(NOW - (10 - i) * 86_400_000), orders: i + 1, totalSpent: (i + 1) * 10,
    }));
    const segmenter = compileSegmentRules({
      rfm: { recency: 'lastPurchaseDate', frequency: 'orders', monetary: 'totalSpent' },
      segments: [
        { name: 'Best', join: 'all', rules: [{ field: 'rfm.label', op: 'in', value: 'Champions, Loyal' }] },
        { name: 'Rest', join: 'all', rules: [] },
      ],
    });
    const result = segmenter.segment([...list, 42], { now: NOW });
    assert.deepEqual(result.segments.map(ids), [[6, 7, 8, 9], [0, 1, 2, 3, 4, 5]]);
    assert.deepEqual((list[9] as Contact).rfm, { r: 5, f: 5, m: 5, score: 555, label: 'Champions' });
    assert.deepEqual((list[0] as Contact).rfm, { r: 1, f: 1, m: 1, score: 111, label: 'Lost' });
  });

  it('gives each contact a frozen rfm shared by its cell, kept when the contact is copied into a second segment', () => {
    const list = Array.from({ length: 10 }, (_, i) => ({
      id: i, email: `c${i}@example.com`, lastPurchaseDate: new Date(NOW - (1 - (i % 2)) * 86_400_000), orders: 1 + (i % 2), totalSpent: 10 + (i % 2),
    }));
    const result = compileSegmentRules({
      rfm: { recency: 'lastPurchaseDate', frequency: 'orders', monetary: 'totalSpent' },
      matchMode: 'every',
      segments: [{ name: 'All', join: 'all', rules: [] }, { name: 'All again', join: 'all', rules: [] }],
    }).segment(list, { now: NOW });
    const [first, second] = result.segments;
    for (const contact of first) assert.ok(Object.isFrozen(contact.rfm));
    // Two values of each field, five contacts each: mid-ranks 2.5 and 7.5 of 10 score 2 and 4.
    assert.deepEqual(first[1].rfm, { r: 4, f: 4, m: 4, score: 444, label: 'Loyal' });
    assert.deepEqual(first[0].rfm, { r: 2, f: 2, m: 2, score: 222, label: 'Hibernating' });
    assert.equal(first[1].rfm, first[3].rfm);
    assert.equal(first[0].rfm, first[2].rfm);
    assert.throws(() => { (first[1].rfm as { label: string }).label = 'changed'; }, TypeError);
    assert.notEqual(second[1], first[1]);
    assert.equal(second[1].rfm, first[1].rfm);
  });

  it('reports configuration errors as MarketingError with a code', () => {
    for (const [config, code] of [
      [{ segments, matchMode: 'sometimes' }, 'badMatchMode'],
      [{ segments, rfm: { recency: 'last', frequency: '', monetary: 'spent' } }, 'missingRfmField'],
      [{ segments: [{ name: 'X', join: 'all', rules: [{ field: 'a', op: 'regex', value: '(' }] }] }, 'badRegex'],
    ] as [SegmentationConfig, string][]) {
      assert.throws(() => compileSegmentRules(config), (err) => isMarketingError(err) && err.code === code, code);
    }
  });

  it('names unnamed segments by position', () => {
    assert.deepEqual(compileSegmentRules({ segments: [{ name: '', join: 'all', rules: [] }, { name: ' B ', join: 'all', rules: [] }] }).names,
      ['segment 1', 'B']);
  });

  it('copies plain data deeply and shares everything else', () => {
    const buffer = Buffer.from('x');
    const original = { a: { b: [1, { c: 2 }] }, when: new Date(5), buffer };
    const copy = cloneContact(original);
    assert.deepEqual(copy, original);
    assert.notEqual(copy.a, original.a);
    assert.notEqual(copy.a.b[1], original.a.b[1]);
    assert.notEqual(copy.when, original.when);
    assert.equal(copy.buffer, buffer);
  });

  it('shares frozen objects when copying, as nothing can change them', () => {
    const score = Object.freeze({ r: 5, f: 5, m: 5, score: 555, label: 'Champions' });
    const original = { rfm: score, tags: ['vip'] };
    const copy = cloneContact(original);
    assert.equal(copy.rfm, score);
    assert.notEqual(copy.tags, original.tags);
  });

  /** What segmenting into one segment of everyone says of each address (by position; `''` has no address). */
  function verdicts(addresses: string[], optedOut: (i: number) => boolean, dedupe: boolean): string[] {
    const list = addresses.map((email, i) => ({ id: i, email, unsubscribed: optedOut(i) }));
    const result = compileSegmentRules({ segments: [{ name: 'Everyone', join: 'all', rules: [] }], dedupe })
      .segment(list, { now: NOW, keepNotTargeted: true });
    const verdict = addresses.map(() => 'targeted');
    result.notTargeted.contacts.forEach((contact, k) => { verdict[(contact as Contact).id as number] = result.notTargeted.reasons[k]; });
    return verdict;
  }

  it('finds repeated addresses exactly as normaliseEmail does, first occurrence kept, across contacts without address', () => {
    const addresses: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const local = `user.${(i * 7919) % 2300}`;
      addresses.push(i % 11 === 0 ? '' : i % 3 === 0 ? ` ${local.toUpperCase()}@Example.COM ` : `${local}@example.com`);
    }
    const reference = new Set<string>();
    const expected = addresses.map((address) => (address === '' ? 'invalidEmail'
      : reference.has(normaliseEmail(address)) ? 'duplicate' : (reference.add(normaliseEmail(address)), 'targeted')));
    assert.deepEqual(verdicts(addresses, () => false, true), expected);
    assert.ok(expected.includes('duplicate') && expected.includes('targeted'));
    assert.deepEqual(verdicts(addresses, () => false, false), expected.map((verdict) => (verdict === 'duplicate' ? 'targeted' : verdict)));
  });

  it('opts out every record of an address that one record opted out, before or after it', () => {
    const addresses = ['a@example.com', 'b@example.com', 'A@example.com', 'c@example.com', 'B@EXAMPLE.COM', 'a@example.com', 'b@example.com'];
    const optedOut = (i: number) => i === 2 || i === 6;
    const expected = ['optedOut', 'optedOut', 'optedOut', 'targeted', 'optedOut', 'optedOut', 'optedOut'];
    assert.deepEqual(verdicts(addresses, optedOut, true), expected);
    assert.deepEqual(verdicts(addresses, optedOut, false), expected);
    assert.deepEqual(verdicts(addresses, () => false, true),
      ['targeted', 'targeted', 'duplicate', 'targeted', 'duplicate', 'duplicate', 'duplicate']);
  });
});
