import assert from 'node:assert/strict';
import { compileFieldPath, isOptedOutValue, isValidEmail, normaliseEmail, validAddress } from '../../lib/segmentation/contacts';

describe('lib/segmentation/contacts', () => {
  it('reads top-level and nested fields, and nothing from non-objects', () => {
    const contact = { email: 'a@example.com', address: { city: 'Lyon', geo: { lat: 45.7 } } };
    assert.equal(compileFieldPath('email')(contact), 'a@example.com');
    assert.equal(compileFieldPath('address.city')(contact), 'Lyon');
    assert.equal(compileFieldPath('address.geo.lat')(contact), 45.7);
    assert.equal(compileFieldPath('address.zip.code')(contact), undefined);
    assert.equal(compileFieldPath('email')('not a contact'), undefined);
    assert.equal(compileFieldPath('address.city')(null), undefined);
  });

  it('reads keys that are not identifiers as data, and steps through lists but not through text', () => {
    const contact = {
      'first name': 'Ann', "o'brien": 1, 'say "hi"': 2, 'back\\slash': 3, 'line\nbreak': 4, '${x}': 5, 'a-b': 6,
      tags: ['vip', 'news'], email: 'a@example.com', address: { 'zip code': '69001', geo: null },
    };
    for (const key of ['first name', "o'brien", 'say "hi"', 'back\\slash', 'line\nbreak', '${x}', 'a-b']) {
      assert.equal(compileFieldPath(key)(contact), contact[key as keyof typeof contact], key);
    }
    assert.equal(compileFieldPath('address.zip code')(contact), '69001');
    assert.equal(compileFieldPath(' address . zip code ')(contact), '69001');
    assert.equal(compileFieldPath('tags.0')(contact), 'vip');
    assert.equal(compileFieldPath('tags.length')(contact), 2);
    assert.equal(compileFieldPath('email.length')(contact), undefined);
    assert.equal(compileFieldPath('address.geo.lat')(contact), undefined);
    assert.equal(compileFieldPath('missing')(contact), undefined);
    assert.equal(compileFieldPath('missing.deeper')(contact), undefined);
    // A single key reads contacts only; a list, text, a number or a boolean has no fields.
    for (const notAContact of [['a@example.com'], 'email', 42, true, undefined]) {
      assert.equal(compileFieldPath('email')(notAContact), undefined, String(notAContact));
      assert.equal(compileFieldPath('0')(notAContact), undefined, String(notAContact));
    }
    // Readers of different fields do not interfere.
    const readers = ['email', 'tags', 'address.zip code'].map((path) => compileFieldPath(path));
    for (let i = 0; i < 3; i++) assert.deepEqual(readers.map((read) => read(contact)), ['a@example.com', contact.tags, '69001']);
  });

  it('accepts deliverable addresses and refuses the rest', () => {
    for (const good of ['ann@example.com', 'o.brien+news@mail.example.co.uk', ' Bob@Example.com ']) {
      assert.equal(isValidEmail(good), true, good);
    }
    for (const bad of ['', 'ann', 'ann@', '@example.com', 'ann@localhost', 'a b@example.com',
      'ann@example.com\r\nBcc: x@example.com', `${'a'.repeat(250)}@example.com`, 42, null, undefined]) {
      assert.equal(isValidEmail(bad), false, String(bad));
    }
  });

  it('gives a valid address back trimmed, and nothing for an invalid one', () => {
    assert.equal(validAddress(' Bob@Example.com\t'), 'Bob@Example.com');
    assert.equal(validAddress('ann@example.com'), 'ann@example.com');
    for (const bad of ['ann@localhost', ' ', 42, null, `${'a'.repeat(250)}@example.com`]) assert.equal(validAddress(bad), undefined, String(bad));
  });

  it('accepts what the HTML address pattern accepts, with a top-level domain and labels of 1 to 63 characters', () => {
    const label63 = 'x'.repeat(63);
    for (const good of ["o'brien!#$%&*+/=?^_`{|}~-@example.com", `ann@${label63}.com`, 'ann@a-b.example', 'a.@example.com', '.a@example.com',
      'ann@1.2.3.4', 'ANN@EXAMPLE.COM', '\tann@example.com\r\n']) {
      assert.equal(isValidEmail(good), true, good);
    }
    for (const bad of [`ann@${label63}x.com`, 'ann@-example.com', 'ann@example-.com', 'ann@example..com', 'ann@.example.com',
      'ann@example.com.', 'ann@@example.com', 'ann@exa_mple.com', 'ann(x)@example.com', 'ann"@example.com', 'anné@example.com',
      'ann@exämple.com', 'ann@example.com\u00a0x', 'a,b@example.com', `${'a'.repeat(242)}@example.com `]) {
      assert.equal(isValidEmail(bad), false, bad);
    }
  });

  it('normalises addresses for de-duplication', () => {
    assert.equal(normaliseEmail('  Ann.Lee@Example.COM '), 'ann.lee@example.com');
  });

  it('treats true and its spreadsheet spellings as opted out', () => {
    for (const yes of [true, 1, 'true', 'TRUE', ' yes ', 'Y', '1']) assert.equal(isOptedOutValue(yes), true, String(yes));
    for (const no of [false, 0, 'false', 'no', '', null, undefined, 'unsubscribed']) assert.equal(isOptedOutValue(no), false, String(no));
  });
});
