import assert from 'node:assert/strict';
import {
  endpointUrl,
  errorDetail,
  finishReasonOf,
  MalformedAnswer,
  parseCompletion,
  requestBody,
  retryAfterMs,
  type RequestSettings,
} from '../../lib/generation/openai-protocol';
import { DEFAULT_GENERATION_OPTIONS, resolveGenerationOptions } from '../../lib/generation/options';

const completions: RequestSettings = { model: 'gpt2', endpoint: 'completions', systemMessage: '', extraFields: 'vllm' };
const options = (overrides: Record<string, unknown> = {}) => resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, overrides);

describe('lib/generation/openai-protocol', () => {
  it('puts /v1/completions or /v1/chat/completions after the base URL, adding /v1 when it is missing', () => {
    const url = (base: string, style: 'completions' | 'chat') => endpointUrl(new URL(base), style).href;
    assert.equal(url('http://gpu:8000/v1', 'completions'), 'http://gpu:8000/v1/completions');
    assert.equal(url('http://gpu:8000/v1/', 'completions'), 'http://gpu:8000/v1/completions');
    assert.equal(url('http://gpu:8000', 'completions'), 'http://gpu:8000/v1/completions');
    assert.equal(url('http://localhost:11434', 'chat'), 'http://localhost:11434/v1/chat/completions');
    assert.equal(url('https://llm.example.com/openai/v1', 'chat'), 'https://llm.example.com/openai/v1/chat/completions');
  });

  it('maps sampling options to the OpenAI fields and the vLLM extra fields', () => {
    const body = requestBody('Dear Anna,', options({ stop: ['\n\n'], num_return_sequences: 3, temperature: 0.8 }), 42, completions);
    assert.deepEqual(body, {
      model: 'gpt2',
      prompt: 'Dear Anna,',
      max_tokens: 60,
      temperature: 0.8,
      top_p: 0.95,
      seed: 42,
      n: 3,
      stop: ['\n\n'],
      top_k: 50,
      repetition_penalty: 1,
    });
    // vLLM reads top_k -1 as off; min_new_tokens is its min_tokens.
    const off = requestBody('x', options({ top_k: 0, min_new_tokens: 5, repetition_penalty: 1.2 }), 1, completions);
    assert.equal(off.top_k, -1);
    assert.equal(off.min_tokens, 5);
    assert.equal(off.repetition_penalty, 1.2);
  });

  it('sends greedy decoding as temperature 0, without top_p and top_k', () => {
    for (const greedy of [{ do_sample: false }, { temperature: 0 }]) {
      const body = requestBody('x', options({ ...greedy, seed: 3 }), 3, completions);
      assert.equal(body.temperature, 0);
      assert.equal('top_p' in body, false);
      assert.equal('top_k' in body, false);
      assert.equal('n' in body, false, 'one text');
    }
  });

  it("uses llama.cpp's names, or only OpenAI's fields, as the server needs", () => {
    const llamacpp = requestBody('x', options({ top_k: 0, repetition_penalty: 1.1 }), 1, { ...completions, extraFields: 'llamacpp' });
    assert.equal(llamacpp.top_k, 0);
    assert.equal(llamacpp.repeat_penalty, 1.1);
    assert.equal('repetition_penalty' in llamacpp, false);
    const none = requestBody('x', options(), 1, { ...completions, extraFields: 'none', model: '' });
    assert.deepEqual(Object.keys(none).sort(), ['max_tokens', 'prompt', 'seed', 'temperature', 'top_p']);
  });

  it('refuses options a server cannot apply instead of dropping them', () => {
    assert.throws(() => requestBody('x', options({ no_repeat_ngram_size: 3 }), 1, completions), {
      code: 'serverOptionUnsupported',
      params: { option: 'no_repeat_ngram_size', value: 3, extraFields: 'vllm' },
    });
    assert.throws(() => requestBody('x', options({ min_new_tokens: 4 }), 1, { ...completions, extraFields: 'llamacpp' }), {
      code: 'serverOptionUnsupported',
    });
  });

  it("refuses max_length and min_length, which count the prompt's tokens the server alone can count, naming the option to use", () => {
    for (const extraFields of ['vllm', 'llamacpp', 'none'] as const) {
      assert.throws(() => requestBody('x', options({ max_length: 100 }), 1, { ...completions, extraFields }), {
        code: 'serverLengthUnsupported',
        message:
          "Option max_length is 100: it counts the prompt's tokens, which only the server's tokenizer knows; with an inference server use max_new_tokens, which counts new tokens only.",
        params: { option: 'max_length', value: 100, instead: 'max_new_tokens' },
      });
      assert.throws(() => requestBody('x', options({ min_length: 20 }), 1, { ...completions, extraFields }), {
        code: 'serverLengthUnsupported',
        params: { option: 'min_length', value: 20, instead: 'min_new_tokens' },
      });
    }
    // Given beside them, max_new_tokens and min_new_tokens win (as in transformers) and are what is sent.
    const body = requestBody('x', options({ max_length: 100, max_new_tokens: 30, min_length: 20, min_new_tokens: 4 }), 1, completions);
    assert.equal(body.max_tokens, 30);
    assert.equal(body.min_tokens, 4);
  });

  it('sends the prompt as the user message after the optional system message in chat style', () => {
    const chat: RequestSettings = { model: 'llama3', endpoint: 'chat', systemMessage: 'You write short marketing emails.', extraFields: 'none' };
    const body = requestBody('Welcome Anna', options(), 1, chat);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'You write short marketing emails.' },
      { role: 'user', content: 'Welcome Anna' },
    ]);
    assert.equal('prompt' in body, false);
    assert.deepEqual(requestBody('Hi', options(), 1, { ...chat, systemMessage: '' }).messages, [{ role: 'user', content: 'Hi' }]);
  });

  it('reads texts in index order, finish reasons and usage from completions and chat answers', () => {
    const answer = JSON.stringify({
      model: 'served-name',
      choices: [
        { index: 1, text: ' second', finish_reason: 'stop', stop_reason: '\n\n' },
        { index: 0, text: ' first', finish_reason: 'length' },
      ],
      usage: { prompt_tokens: 7, completion_tokens: 20, total_tokens: 27 },
    });
    assert.deepEqual(parseCompletion(answer, 'completions', 2, true), {
      model: 'served-name',
      choices: [
        { text: ' first', finishReason: 'length' },
        { text: ' second', finishReason: 'stop' },
      ],
      promptTokens: 7,
      completionTokens: 20,
    });
    const chat = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }] });
    assert.deepEqual(parseCompletion(chat, 'chat', 1, false), {
      model: undefined,
      choices: [{ text: 'Hello!', finishReason: 'eos' }],
      promptTokens: 0,
      completionTokens: 0,
    });
  });

  it('says what is wrong with a malformed answer', () => {
    const reason = (text: string, endpoint: 'completions' | 'chat' = 'completions', n = 1) => {
      try {
        parseCompletion(text, endpoint, n, false);
      } catch (err) {
        assert.ok(err instanceof MalformedAnswer);
        return err.message;
      }
      return assert.fail('parsed');
    };
    assert.equal(reason('<html>Bad gateway</html>'), 'the answer is not JSON');
    assert.equal(reason('{"object":"list","data":[]}'), 'the answer has no "choices" array');
    assert.equal(reason('{"choices":[{"text":null}]}'), 'choice 0 has no text string');
    assert.equal(reason('{"choices":[{"message":{"content":null}}]}', 'chat'), 'choice 0 has no message.content string');
    assert.match(reason('{"choices":[{"text":"a"}]}', 'completions', 3), /^3 texts were asked for \(n\) and 1 came back/);
  });

  it("maps finish reasons: vLLM's stop_reason tells an end-of-text token from a stop string", () => {
    assert.equal(finishReasonOf('length', undefined, true), 'length');
    assert.equal(finishReasonOf('stop', '###', true), 'stop');
    assert.equal(finishReasonOf('stop', null, true), 'eos');
    assert.equal(finishReasonOf('stop', 50256, true), 'eos');
    assert.equal(finishReasonOf('stop', undefined, true), 'stop');
    assert.equal(finishReasonOf('stop', undefined, false), 'eos');
    assert.equal(finishReasonOf('eos_token', undefined, true), 'eos');
    assert.equal(finishReasonOf('stop_sequence', undefined, false), 'stop');
    assert.equal(finishReasonOf('content_filter', undefined, false), 'eos');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterMs('2', now), 2000);
    assert.equal(retryAfterMs('0', now), 0);
    assert.equal(retryAfterMs(' 1.5 ', now), 1500);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a past date: at once');
    assert.equal(retryAfterMs('soon', now), undefined);
    assert.equal(retryAfterMs(null, now), undefined);
  });

  it("finds the message in the error formats of OpenAI, vLLM, TGI and FastAPI", () => {
    assert.equal(errorDetail('{"error":{"message":"Invalid key","type":"auth"}}'), 'Invalid key');
    assert.equal(errorDetail('{"object":"error","message":"This model\'s maximum context length is 1024 tokens."}'), "This model's maximum context length is 1024 tokens.");
    assert.equal(errorDetail('{"error":"Input validation error","error_type":"validation"}'), 'Input validation error');
    assert.equal(errorDetail('{"detail":[{"loc":["body","prompt"],"msg":"field required"}]}'), '[{"loc":["body","prompt"],"msg":"field required"}]');
    assert.equal(errorDetail('Bad\n  gateway'), 'Bad gateway');
    assert.equal(errorDetail('x'.repeat(500)).length, 300);
  });
});
