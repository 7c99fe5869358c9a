import assert from 'node:assert/strict';
import { cutAtSentenceEnd, dropInvalidCharacters, findStopString } from '../../lib/generation/text';

describe('lib/generation/text', () => {
  it('finds the earliest stop string, from a given position', () => {
    assert.equal(findStopString('Save 20% today.\nReply STOP', ['STOP', '\n']), 15);
    assert.equal(findStopString('no stop here', ['###']), -1);
    assert.equal(findStopString('a###b###', ['###'], 2), 5);
  });

  it('drops bytes that decode to no character (U+FFFD), at the end or inside', () => {
    assert.equal(dropInvalidCharacters('限时优惠\uFFFD\uFFFD'), '限时优惠');
    assert.equal(dropInvalidCharacters('customers\uFFFD贵阳'), 'customers贵阳');
    assert.equal(dropInvalidCharacters('plain text'), 'plain text');
  });

  it('cuts after the last complete sentence, in English and Chinese', () => {
    assert.equal(cutAtSentenceEnd('Our sale starts today. Get 20% off all'), 'Our sale starts today.');
    assert.equal(cutAtSentenceEnd('Ready? "Go!" and then'), 'Ready? "Go!"');
    assert.equal(cutAtSentenceEnd('Prices from $9.99 for'), 'Prices from $9.99 for');
    assert.equal(cutAtSentenceEnd('Only $9.99. Buy now'), 'Only $9.99.');
    assert.equal(cutAtSentenceEnd('新品上市。限时优惠，欢迎'), '新品上市。');
    assert.equal(cutAtSentenceEnd('「太好了！」然后'), '「太好了！」');
    assert.equal(cutAtSentenceEnd('no sentence end at all'), 'no sentence end at all');
  });
});
