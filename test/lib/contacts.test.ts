import assert from 'node:assert/strict';
import { compileFieldPath, isOptedOutValue, isValidEmail, normaliseEmail, trimmed, validAddress, validAddressHash } from '../../lib/contacts';

/** The HTML specification's valid e-mail address with a top-level domain required: what the scanner must accept, exactly. */
const HTML_EMAIL_PATTERN =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

/** FNV-1a over the UTF-16 code units of a string, as written in its definition. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash | 0;
}

describe('lib/contacts', () => {
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
    // Readers of different fields do not interfere (each has its own generated code).
    const readers = ['email', 'tags', 'address.zip code'].map((path) => compileFieldPath(path));
    for (let i = 0; i < 3; i++) assert.deepEqual(readers.map((read) => read(contact)), ['a@example.com', contact.tags, '69001']);
    // One path, one function, whoever asks: its code stays warm across segmenters and deploys.
    assert.equal(compileFieldPath('address.zip code'), readers[2]);
    assert.equal(compileFieldPath(' address . zip code '), readers[2]);
    assert.notEqual(compileFieldPath('address.zip'), readers[2]);
  });

  it('trims exactly what String.prototype.trim trims, at either end, for every UTF-16 code unit', () => {
    for (let code = 0; code < 65536; code++) {
      const char = String.fromCharCode(code);
      for (const text of [char, `a${char}`, `${char}a`, `${char}a${char}`, `a${char}b`]) {
        if (trimmed(text) !== text.trim()) assert.fail(`U+${code.toString(16)} in ${JSON.stringify(text)}`);
      }
    }
    const untouched = 'ann@example.com';
    assert.equal(trimmed(untouched), untouched);
    assert.equal(trimmed(''), '');
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

  it('accepts exactly what the HTML address pattern accepts, on 200,000 generated near-addresses', () => {
    let seed = 12345;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    // Mostly what labels are made of, some characters only a local part may hold, a few that are
    // never allowed, and labels around the 63-character limit.
    const pieces = ['a', 'Z', '7', 'b', 'Q', '0', 'a', 'Z', '7', 'k', '-', 'x'.repeat(61), 'y'.repeat(62), 'z'.repeat(63), 'w'.repeat(64),
      '.', '_', '+', "'", '!', '~', '..', '@', ' ', '\t', 'é', '\r\n', '"', ',', '(', '\u00a0'];
    const text = (parts: number) => Array.from({ length: parts }, () => pieces[next(next(4) === 0 ? pieces.length : 15)]).join('');
    let valid = 0;
    for (let i = 0; i < 200_000; i++) {
      const domain = Array.from({ length: 1 + next(3) }, () => text(1 + next(3))).join('.');
      const candidate = next(10) === 0 ? text(1 + next(8)) : `${next(8) === 0 ? ' ' : ''}${text(1 + next(3))}@${domain}`;
      const expected = candidate.length <= 254 && HTML_EMAIL_PATTERN.test(candidate.trim());
      assert.equal(isValidEmail(candidate), expected, JSON.stringify(candidate));
      if (expected) valid++;
    }
    // Both answers must have come up often, or the comparison proves little.
    assert.ok(valid > 20_000 && valid < 180_000, `${valid} valid of 200,000`);
  });

  it('hashes a valid address as FNV-1a of its normalised form, and nothing else', () => {
    for (const address of ['ann@example.com', ' Ann.Lee+news@Mail.Example.CO.UK\t', "o'brien@x-y.example"]) {
      assert.equal(validAddressHash(address), fnv1a(normaliseEmail(address)), address);
    }
    assert.equal(validAddressHash('ANN@EXAMPLE.COM'), validAddressHash(' ann@example.com '));
    for (const bad of ['ann@localhost', 'ann@-example.com', 'ann@example-.com', 'ann@example..com', 42, null]) {
      assert.ok(Number.isNaN(validAddressHash(bad)), String(bad));
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
