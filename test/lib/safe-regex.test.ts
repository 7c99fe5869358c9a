import assert from 'node:assert/strict';
import { isMarketingError } from '../../lib/errors';
import { compileSafeRegex, REGEX_TEXT_LIMIT } from '../../lib/safe-regex';

function refusal(source: string): { code: string; params: Record<string, string | number>; message: string } {
  try {
    compileSafeRegex(source);
  } catch (err) {
    assert.ok(isMarketingError(err), String(err));
    return err;
  }
  assert.fail(`compiled ${source}`);
}

describe('lib/safe-regex', () => {
  it('gives the results of JavaScript RegExp on everyday patterns', () => {
    const patterns = ['^(Paris|Lyon)$', '^b', '\\.com$', '^[A-M]', '^\\S+@\\S+\\.\\S+$', '\\bvip\\b', '(?<year>\\d{4})-\\d{2}',
      'caf\\u00e9', '[\\w.-]+@example\\.org', '^\\+33\\s?\\d', 'a{2,3}', '^$', '[^\\]]', '\\/'];
    const texts = ['Paris', 'paris', 'Lyon', 'Berlin', 'bob', 'Bob', 'x@y.com', 'a@b', 'a vip b', 'avipb', '2024-05', 'café',
      'CAFÉ', 'jo.e@example.org', '+33 6', '+336', 'aa', 'a', '', ']', 'a/b', 'Marc', 'Zoe'];
    for (const ignoreCase of [false, true]) {
      for (const source of patterns) {
        const native = new RegExp(source, ignoreCase ? 'i' : '');
        const safe = compileSafeRegex(source, ignoreCase);
        for (const text of texts) {
          assert.equal(safe(text), native.test(text), `/${source}/${ignoreCase ? 'i' : ''} on ${JSON.stringify(text)}`);
        }
      }
    }
  });

  it('runs a catastrophic pattern in linear time: (a+)+$ on 32 "a" then "!"', () => {
    // JavaScript's RegExp takes about 40 s on this text.
    const matches = compileSafeRegex('(a+)+$');
    assert.equal(matches(`${'a'.repeat(32)}!`), false);
    assert.equal(matches('a'.repeat(32)), true);
    assert.equal(compileSafeRegex('(a|a)*b')(`${'a'.repeat(5_000)}!`), false);
  });

  it(`does not test text longer than ${REGEX_TEXT_LIMIT} characters: it does not match`, () => {
    const matches = compileSafeRegex('^a+$');
    assert.equal(matches('a'.repeat(REGEX_TEXT_LIMIT)), true);
    assert.equal(matches('a'.repeat(REGEX_TEXT_LIMIT + 1)), false);
    assert.equal(compileSafeRegex('(a+)+$')(`${'a'.repeat(49_999)}!`), false);
  });

  it('refuses what needs backtracking: lookahead, lookbehind, backreferences, repeat counts over 1000', () => {
    for (const source of ['^(?!test)', 'a(?=b)', '(?<=foo)bar', '(?<!foo)bar', '(a)\\1', '(?<x>a)\\k<x>', 'a{1001}']) {
      const err = refusal(source);
      assert.equal(err.code, 'unsupportedRegex', source);
      assert.equal(err.params.pattern, source);
      assert.match(err.message, /is refused: lookahead, lookbehind, backreferences and repeat counts over 1000/);
      assert.ok(String(err.params.detail).length > 0);
    }
  });

  it('keeps RE2\'s meaning where it differs from JavaScript: \\s is ASCII, . is a code point but \\n', () => {
    assert.equal(compileSafeRegex('\\s')('\u00a0'), false);
    assert.equal(compileSafeRegex('^.$')('\r'), true);
    assert.equal(compileSafeRegex('^.$')('\u{1F600}'), true);
    assert.equal(compileSafeRegex('^.$')('\n'), false);
    assert.equal(compileSafeRegex('^\\p{Lu}')('Émile'), true);
  });

  it('reports a pattern JavaScript does not accept as invalid, with its own message', () => {
    const err = refusal('([a-z');
    assert.equal(err.code, 'badRegex');
    assert.match(String(err.params.detail), /Invalid regular expression/);
    assert.equal(refusal('(?i)abc').code, 'badRegex');
  });
});
