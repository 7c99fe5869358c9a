import assert from 'node:assert/strict';
import { compileFieldPath, isOptedOutValue, isValidEmail, normaliseEmail } from '../../lib/contacts';

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

  it('accepts deliverable addresses and refuses the rest', () => {
    for (const good of ['ann@example.com', 'o.brien+news@mail.example.co.uk', ' Bob@Example.com ']) {
      assert.equal(isValidEmail(good), true, good);
    }
    for (const bad of ['', 'ann', 'ann@', '@example.com', 'ann@localhost', 'a b@example.com',
      'ann@example.com\r\nBcc: x@example.com', `${'a'.repeat(250)}@example.com`, 42, null, undefined]) {
      assert.equal(isValidEmail(bad), false, String(bad));
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
