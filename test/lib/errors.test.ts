import assert from 'node:assert/strict';
import { MarketingError, printable } from '../../lib/errors';

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
});
