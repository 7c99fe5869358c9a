import assert from 'node:assert/strict';
import { MarketingError } from '../../lib/errors';
import type { GenerationResult } from '../../lib/generation/generator';
import { MAX_BATCH, generationOutput, readPrompts } from '../../lib/generation/messages';

function result(texts: string[][]): GenerationResult {
  return {
    model: 'demo-gpt2',
    seed: 7,
    durationMs: 200,
    prompts: texts.map((sequences, i) => ({
      promptTokens: 5 + i,
      truncatedPrompt: i === 1,
      sequences: sequences.map((text) => ({ text, newTokens: 10, finishReason: 'length' as const })),
    })),
  };
}

describe('lib/generation/messages', () => {
  it('reads msg.prompt first, else a string or array msg.payload', () => {
    assert.deepEqual(readPrompts({ prompt: 'a', payload: 'b' }), { prompts: ['a'], batch: false });
    assert.deepEqual(readPrompts({ payload: 'b' }), { prompts: ['b'], batch: false });
    assert.deepEqual(readPrompts({ payload: ['x', 'y'] }), { prompts: ['x', 'y'], batch: true });
  });

  it('refuses a missing prompt or one that is not text, naming the property', () => {
    for (const [msg, property] of [
      [{ payload: { text: 'hi' } }, 'payload'],
      [{ prompt: 42, payload: 'hi' }, 'prompt'],
      [{ payload: [] }, 'payload'],
      [{ payload: ['a', 3] }, 'payload'],
      [{ payload: new Array(MAX_BATCH + 1).fill('a') }, 'payload'],
      [{}, 'payload'],
    ] as const) {
      assert.throws(
        () => readPrompts(msg),
        (err: unknown) => err instanceof MarketingError && err.code === 'noPrompt' && err.params.property === property,
      );
    }
  });

  it('shapes payload and finish reasons like the input', () => {
    const single = generationOutput(result([['hello']]), { prompts: ['p'], batch: false }, 1);
    assert.equal(single.payload, 'hello');
    assert.equal(single.generation.finishReason, 'length');
    assert.deepEqual(single.generation, {
      model: 'demo-gpt2',
      promptTokens: 5,
      newTokens: 10,
      durationMs: 200,
      tokensPerSecond: 50,
      finishReason: 'length',
      seed: 7,
      promptTruncated: false,
    });
    const several = generationOutput(result([['a', 'b', 'c']]), { prompts: ['p'], batch: false }, 3);
    assert.deepEqual(several.payload, ['a', 'b', 'c']);
    assert.deepEqual(several.generation.finishReason, ['length', 'length', 'length']);
    assert.equal(several.generation.newTokens, 30);
    const batch = generationOutput(result([['a'], ['b']]), { prompts: ['p', 'q'], batch: true }, 1);
    assert.deepEqual(batch.payload, ['a', 'b']);
    assert.equal(batch.generation.promptTokens, 11);
    assert.equal(batch.generation.promptTruncated, true);
    const both = generationOutput(result([['a', 'b'], ['c', 'd']]), { prompts: ['p', 'q'], batch: true }, 2);
    assert.deepEqual(both.payload, [['a', 'b'], ['c', 'd']]);
    assert.deepEqual(both.generation.finishReason, [['length', 'length'], ['length', 'length']]);
  });
});
