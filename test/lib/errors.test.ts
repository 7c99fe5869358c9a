import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MarketingError, printable } from '../../lib/errors';
import { compileTemplate } from '../../lib/template';

describe('lib/errors', () => {
  it('writes control characters out as escapes, and leaves other text alone', () => {
    assert.equal(printable('a\r\nb\tc\u0000d\u001be\u007ff\u0085g\u2028h\u2029'), 'a\\r\\nb\\tc\\x00d\\x1Be\\x7Ff\\x85g\\u2028h\\u2029');
    assert.equal(printable('C:\\outbox 李雷 🌸 "quoted"'), 'C:\\outbox 李雷 🌸 "quoted"');
  });

  it('makes the message and the text params of a MarketingError printable', () => {
    const err = new MarketingError('invalidAddress', 'Invalid recipient address: a@b.example\r\nBcc: c@d.example', { address: 'a@b.example\r\nBcc: c@d.example', size: 3 });
    assert.equal(err.message, 'Invalid recipient address: a@b.example\\r\\nBcc: c@d.example');
    assert.deepEqual(err.params, { address: 'a@b.example\\r\\nBcc: c@d.example', size: 3 });
  });

  it('takes its English message from the en-US catalog, so that English is written once', () => {
    const catalog = JSON.parse(readFileSync(join(__dirname, '..', '..', 'nodes', 'prompt', 'locales', 'en-US', 'prompt.json'), 'utf8')) as {
      prompt: { errors: Record<string, string> };
    };
    assert.equal(catalog.prompt.errors.templateSyntax, 'Template error in __template__ at line __line__, column __column__: __detail__');
    const err = new MarketingError('templateSyntax', 'another English text', { template: 'subject', line: 2, column: 5, detail: 'Unclosed tag' });
    assert.equal(err.message, 'Template error in subject at line 2, column 5: Unclosed tag');
    assert.throws(() => compileTemplate('Hi {{#vip}}', { name: 'subject' }), (thrown: MarketingError) => thrown.message.startsWith('Template error in subject at line 1, column 4: '));
  });

  it('picks, of the catalogs that share a code, the text its params fill, and keeps its own text for an unknown code', () => {
    const option = new MarketingError('badNumber', 'x', { option: 'top_p', value: 'a', min: 0, max: 1 });
    assert.equal(option.message, 'Option top_p is a: expected a number from 0 to 1.');
    assert.equal(new MarketingError('notInAnyCatalog', 'Its own text').message, 'Its own text');
  });
});
