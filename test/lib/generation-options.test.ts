import assert from 'node:assert/strict';
import { MarketingError } from '../../lib/errors';
import {
  DEFAULT_GENERATION_OPTIONS,
  isSampling,
  lengthBudget,
  overriddenLengthOptions,
  resolveGenerationOptions,
} from '../../lib/generation/options';

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

  describe("Hugging Face's max_length and min_length", () => {
    const resolve = (overrides: Record<string, unknown>, base = DEFAULT_GENERATION_OPTIONS) => resolveGenerationOptions(base, overrides);
    const GPT2_POSITIONS = 1024;

    it('counts the prompt: new tokens = max_length - prompt tokens, min_length likewise', () => {
      const options = resolve({ max_length: 100, min_length: 30 });
      assert.equal(options.max_length, 100);
      assert.equal(options.min_length, 30);
      assert.deepEqual(lengthBudget(options, 12, GPT2_POSITIONS, 0), { maxNewTokens: 88, minNewTokens: 18 });
      // A prompt longer than min_length already: no new token is required.
      assert.deepEqual(lengthBudget(options, 40, GPT2_POSITIONS, 0), { maxNewTokens: 60, minNewTokens: 0 });
      // Strings, as forms send them, are numbers too.
      assert.equal(resolve({ max_length: '100' }).max_length, 100);
    });

    it("clamps max_length to the model's positions", () => {
      const options = resolve({ max_length: 5000 });
      assert.deepEqual(lengthBudget(options, 24, 512, 0), { maxNewTokens: 512 - 24, minNewTokens: 0 });
      assert.deepEqual(lengthBudget(options, 24, GPT2_POSITIONS, 0), { maxNewTokens: GPT2_POSITIONS - 24, minNewTokens: 0 });
    });

    it('lets max_new_tokens and min_new_tokens win when given beside them, as transformers does', () => {
      const both = { max_length: 100, max_new_tokens: 20, min_length: 50, min_new_tokens: 5 };
      const options = resolve(both);
      assert.equal(options.max_length, undefined);
      assert.equal(options.min_length, undefined);
      assert.deepEqual(lengthBudget(options, 12, GPT2_POSITIONS, 0), { maxNewTokens: 20, minNewTokens: 5 });
      assert.deepEqual(overriddenLengthOptions(both), [
        { option: 'max_length', winner: 'max_new_tokens' },
        { option: 'min_length', winner: 'min_new_tokens' },
      ]);
      assert.deepEqual(overriddenLengthOptions({ max_length: 100, min_new_tokens: 5 }), []);
      // The node's total length gives way to a message's new tokens, and the other way round.
      const node = resolve({ max_length: 100 });
      assert.equal(resolve({ max_new_tokens: 20 }, node).max_length, undefined);
      assert.equal(resolve({ seed: 3 }, node).max_length, 100);
      assert.equal(resolve({ max_length: 80 }, resolve({ max_new_tokens: 20 })).max_length, 80);
      assert.deepEqual(lengthBudget(DEFAULT_GENERATION_OPTIONS, 12, GPT2_POSITIONS, 0), { maxNewTokens: 60, minNewTokens: 0 });
    });

    it('refuses values out of range, naming the option and the range', () => {
      rejects({ max_length: 1 }, 'badInteger', 'max_length');
      rejects({ max_length: 1e7 }, 'badInteger', 'max_length');
      rejects({ max_length: 'long' }, 'badInteger', 'max_length');
      rejects({ min_length: -1 }, 'badInteger', 'min_length');
      assert.throws(() => resolve({ max_length: 0 }), {
        code: 'badInteger',
        message: 'Option max_length is 0: expected an integer from 2 to 131072.',
        params: { option: 'max_length', value: '0', min: 2, max: 131072 },
      });
      assert.throws(() => resolve({ max_length: 40, min_length: 50 }), {
        code: 'minAboveMax',
        message: 'Option min_length is 50: it may not exceed max_length (40).',
        params: { option: 'min_length', value: '50', limitOption: 'max_length', limit: 40 },
      });
    });

    it('refuses a prompt that leaves no new token, and a minimum the maximum cannot reach', () => {
      assert.throws(() => lengthBudget(resolve({ max_length: 20 }), 20, GPT2_POSITIONS, 0), {
        code: 'maxLengthNoRoom',
        params: { index: 1, promptTokens: 20, max_length: 20, n_positions: GPT2_POSITIONS },
      });
      assert.throws(() => lengthBudget(resolve({ max_length: 2000 }), 1024, GPT2_POSITIONS, 1), {
        code: 'maxLengthNoRoom',
        params: { index: 2, promptTokens: 1024, max_length: 2000, n_positions: GPT2_POSITIONS },
      });
      assert.throws(() => lengthBudget(resolve({ max_length: 100, min_new_tokens: 95 }), 10, GPT2_POSITIONS, 0), {
        code: 'minUnreachable',
        message: 'Option min_new_tokens is 95: prompt 1 has 10 tokens, so it asks for 95 new tokens, more than the 90 the length limit leaves.',
      });
      assert.throws(() => lengthBudget(resolve({ min_length: 50, max_new_tokens: 10 }), 12, GPT2_POSITIONS, 0), {
        code: 'minUnreachable',
        params: { option: 'min_length', value: '50', index: 1, promptTokens: 12, minNewTokens: 38, maxNewTokens: 10 },
      });
      // A model that does not say its positions: the new tokens stay within max_new_tokens' limit.
      assert.throws(() => lengthBudget(resolve({ max_length: 10_000 }), 10, Infinity, 0), {
        code: 'maxLengthTooLong',
        params: { option: 'max_length', value: '10000', index: 1, promptTokens: 10, newTokens: 9990, limit: 4096, max: 4106 },
      });
    });
  });

  describe('other Hugging Face generate options', () => {
    it('takes pad_token_id, which changes nothing when texts are never padded', () => {
      assert.deepEqual(resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { pad_token_id: 50256 }), DEFAULT_GENERATION_OPTIONS);
      rejects({ pad_token_id: -1 }, 'badInteger', 'pad_token_id');
    });

    it('takes the values that ask for what the node does anyway (no beams, no extra filter)', () => {
      const neutral = {
        num_beams: 1,
        num_beam_groups: '1',
        diversity_penalty: 0,
        early_stopping: false,
        length_penalty: 1.0,
        typical_p: 1.0,
        epsilon_cutoff: 0,
        eta_cutoff: 0,
        min_p: 0,
        penalty_alpha: 0,
        output_scores: false,
        output_logits: 'false',
        return_dict_in_generate: false,
      };
      assert.deepEqual(resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, neutral), DEFAULT_GENERATION_OPTIONS);
    });

    // Each refused option, the code of its reason, and the option its message says to use instead.
    const REFUSED: Array<[string, unknown, string, string]> = [
      ['num_beams', 4, 'beamSearchOption', 'do_sample to false'],
      ['num_beam_groups', 2, 'beamSearchOption', 'num_return_sequences'],
      ['diversity_penalty', 0.5, 'beamSearchOption', 'num_return_sequences'],
      ['force_words_ids', [[464]], 'beamSearchOption', 'do_sample'],
      ['early_stopping', true, 'beamLengthOption', 'max_new_tokens or max_length'],
      ['length_penalty', 2.0, 'beamLengthOption', 'stop'],
      ['typical_p', 0.9, 'samplingFilterOption', 'top_p or top_k'],
      ['epsilon_cutoff', 3e-4, 'samplingFilterOption', 'top_p'],
      ['eta_cutoff', 3e-4, 'samplingFilterOption', 'top_p'],
      ['min_p', 0.05, 'samplingFilterOption', 'top_k'],
      ['penalty_alpha', 0.6, 'contrastiveSearchOption', 'repetition_penalty or no_repeat_ngram_size'],
      ['eos_token_id', 198, 'eosTokenOption', 'use stop'],
      ['bad_words_ids', [[1234]], 'badWordsOption', 'use stop'],
      ['stop_strings', ['\n'], 'stopStringsOption', 'use stop'],
      ['max_time', 5, 'maxTimeOption', 'timeout setting'],
      ['output_scores', true, 'outputOption', 'msg.generation'],
      ['output_logits', true, 'outputOption', 'msg.generation'],
      ['return_dict_in_generate', true, 'outputOption', 'msg.generation'],
    ];
    for (const [option, value, code, instead] of REFUSED) {
      it(`refuses ${option}: ${JSON.stringify(value)} and says to use ${instead}`, () => {
        assert.throws(
          () => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { [option]: value }),
          (err: unknown) => {
            assert.ok(err instanceof MarketingError);
            assert.equal(err.code, code);
            assert.deepEqual(err.params, { option, value: JSON.stringify(value) });
            assert.ok(err.message.startsWith(`Option ${option} is ${JSON.stringify(value)}: `), err.message);
            assert.ok(err.message.includes(instead), err.message);
            return true;
          },
        );
      });
    }

    it('lists pad_token_id among the known options when a name is unknown', () => {
      assert.throws(() => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, { num_beam: 4 }), (err: unknown) => {
        assert.ok(err instanceof MarketingError && err.code === 'unknownOption');
        assert.match(String(err.params.known), /max_new_tokens, min_new_tokens, max_length, min_length, .*, pad_token_id$/);
        return true;
      });
    });
  });
});
