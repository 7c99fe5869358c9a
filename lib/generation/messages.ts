/**
 * The message contract of `marketing-generate-text`: where prompts come from and the shape
 * of `msg.payload` and `msg.generation`, kept here so it is one thing, tested on its own.
 */
import { MarketingError } from '../errors';
import type { FinishReason, GenerationResult } from './generator';

/** Prompts per message: each is generated in turn, and all must fit in one timeout. */
export const MAX_BATCH = 1000;

export interface PromptBatch {
  prompts: string[];
  /** The input was an array: the output is one too. */
  batch: boolean;
}

/** `msg.prompt` when set (as `marketing-prompt` sends it), else a string or array `msg.payload`. */
export function readPrompts(msg: { prompt?: unknown; payload?: unknown }): PromptBatch {
  const property = msg.prompt !== undefined ? 'prompt' : 'payload';
  const value = msg.prompt !== undefined ? msg.prompt : msg.payload;
  if (typeof value === 'string') return { prompts: [value], batch: false };
  if (Array.isArray(value) && value.length > 0 && value.length <= MAX_BATCH && value.every((item) => typeof item === 'string')) {
    return { prompts: [...value], batch: true };
  }
  const type = Array.isArray(value) ? `an array of ${value.length} items` : value === null ? 'null' : typeof value;
  throw new MarketingError(
    'noPrompt',
    `msg.${property} is ${type}: expected the prompt as a string, or an array of 1 to ${MAX_BATCH} strings.`,
    { property, type, max: MAX_BATCH },
  );
}

export interface GenerationSummary {
  model: string;
  promptTokens: number;
  newTokens: number;
  durationMs: number;
  tokensPerSecond: number;
  /** Shaped like `msg.payload`: one reason per text. */
  finishReason: FinishReason | FinishReason[] | FinishReason[][];
  seed: number;
  /** Whether the start of a prompt was cut to fit the model. */
  promptTruncated: boolean;
}

export interface GenerationOutput {
  /** A string; an array of num_return_sequences strings; an array per prompt for a batch. */
  payload: string | string[] | string[][];
  generation: GenerationSummary;
}

/** `msg.payload` and `msg.generation` for a result. */
export function generationOutput(result: GenerationResult, input: PromptBatch, numReturnSequences: number): GenerationOutput {
  const several = numReturnSequences > 1;
  const texts = result.prompts.map((prompt) => (several ? prompt.sequences.map((s) => s.text) : prompt.sequences[0].text));
  const reasons = result.prompts.map((prompt) => (several ? prompt.sequences.map((s) => s.finishReason) : prompt.sequences[0].finishReason));
  const newTokens = result.prompts.reduce((sum, prompt) => sum + prompt.sequences.reduce((n, s) => n + s.newTokens, 0), 0);
  const durationMs = Math.round(result.durationMs);
  return {
    payload: (input.batch ? texts : texts[0]) as GenerationOutput['payload'],
    generation: {
      model: result.model,
      promptTokens: result.prompts.reduce((sum, prompt) => sum + prompt.promptTokens, 0),
      newTokens,
      durationMs,
      tokensPerSecond: result.durationMs > 0 ? Math.round((newTokens / result.durationMs) * 10_000) / 10 : 0,
      finishReason: (input.batch ? reasons : reasons[0]) as GenerationSummary['finishReason'],
      seed: result.seed,
      promptTruncated: result.prompts.some((prompt) => prompt.truncatedPrompt),
    },
  };
}
