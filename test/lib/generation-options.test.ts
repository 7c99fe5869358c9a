import assert from 'node:assert/strict';
import { MarketingError } from '../../lib/errors';
import { DEFAULT_GENERATION_OPTIONS, isSampling, resolveGenerationOptions } from '../../lib/generation/options';

function rejects(overrides: unknown, code: string, option?: string): void {
  assert.throws(
    () => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, overrides),
    (err: unknown) => err instanceof MarketingError && err.code === code && (option === undefined || err.params.option === option),
    JSON.stringify(overrides),
  );
}

describe('lib/generation/options', () => {
  it("defaults to the seed example's settings", () => {
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, undefined);
    assert.equal(options.max_new_tokens, 60);
    assert.equal(options.do_sample, true);
    assert.equal(options.top_k, 50);
    assert.equal(options.top_p, 0.95);
    assert.equal(options.temperature, 1.0);
    assert.equal(options.num_return_sequences, 1);
    assert.equal(options.seed, undefined);
    assert.equal(options.truncate_prompt, true);
  });

  it('applies overrides, accepting numbers and booleans written as strings', () => {
    const options = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, {
      max_new_tokens: '12',
      temperature: 0.7,
      top_p: '0.9',
      seed: 42,
      do_sample: 'false',
      stop: '\n',
      repetition_penalty: 1.2,
    });
    assert.equal(options.max_new_tokens, 12);
    assert.equal(options.top_p, 0.9);
    assert.equal(options.seed, 42);
    assert.equal(options.do_sample, false);
    assert.deepEqual(options.stop, ['\n']);
    assert.equal(options.repetition_penalty, 1.2);
    // The base is left alone.
    assert.equal(DEFAULT_GENERATION_OPTIONS.max_new_tokens, 60);
    assert.equal(resolveGenerationOptions(options, { seed: null }).seed, undefined);
  });

  it('refuses bad values, naming the option and the rule broken', () => {
    rejects({ max_new_tokens: 0 }, 'badInteger', 'max_new_tokens');
    rejects({ max_new_tokens: 2.5 }, 'badInteger', 'max_new_tokens');
    rejects({ max_new_tokens: 'many' }, 'badInteger', 'max_new_tokens');
    rejects({ max_new_tokens: 1e6 }, 'badInteger', 'max_new_tokens');
    rejects({ temperature: -1 }, 'badNumber', 'temperature');
    rejects({ top_p: 0 }, 'badPositiveNumber', 'top_p');
    rejects({ top_p: 1.5 }, 'badPositiveNumber', 'top_p');
    rejects({ top_k: -3 }, 'badInteger', 'top_k');
    rejects({ repetition_penalty: 0 }, 'badPositiveNumber', 'repetition_penalty');
    rejects({ num_return_sequences: 0 }, 'badInteger', 'num_return_sequences');
    rejects({ num_return_sequences: 100 }, 'badInteger', 'num_return_sequences');
    rejects({ seed: -5 }, 'badInteger', 'seed');
    rejects({ seed: 'abc' }, 'badInteger', 'seed');
    rejects({ do_sample: 'yes please' }, 'badBoolean', 'do_sample');
    rejects({ stop: [''] }, 'badStop', 'stop');
    rejects({ stop: 42 }, 'badStop', 'stop');
    rejects({ min_new_tokens: 50, max_new_tokens: 10 }, 'minAboveMax', 'min_new_tokens');
    rejects({ do_sample: false, num_return_sequences: 3 }, 'greedyOneSequence', 'num_return_sequences');
  });

  it('refuses unknown option names and options that are not an object', () => {
    rejects({ max_tokens: 10 }, 'unknownOption', 'max_tokens');
    rejects('max_new_tokens=10', 'badOptions');
    rejects([1, 2], 'badOptions');
  });

  it('treats temperature 0 as greedy decoding', () => {
    assert.equal(isSampling({ do_sample: true, temperature: 0 }), false);
    assert.equal(isSampling({ do_sample: true, temperature: 0.1 }), true);
    assert.equal(isSampling({ do_sample: false, temperature: 1 }), false);
  });
});
