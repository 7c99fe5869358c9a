import assert from 'node:assert/strict';
import { seededRandom } from '../../lib/generation/random';
import {
  TokenHistory,
  argmax,
  candidateDistribution,
  nucleusThreshold,
  processLogits,
  sampleNextToken,
  type SamplingWarpers,
} from '../../lib/generation/sampler';

const VOCAB = 50257; // GPT-2's vocabulary, so the tests exercise the real sizes

/** Logits of a normal distribution from a seeded stream (Box-Muller). */
function randomLogits(seed: number, size = VOCAB, scale = 3): Float32Array {
  const random = seededRandom(seed);
  const logits = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    logits[i] = scale * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return logits;
}

/** HF's TopPLogitsWarper written the obvious way (full sort), as the reference. */
function referenceNucleus(probabilities: number[], topP: number): Set<number> {
  const ascending = probabilities.map((p, id) => ({ p, id })).sort((a, b) => a.p - b.p);
  const kept = new Set<number>();
  let cumulative = 0;
  ascending.forEach(({ p, id }, i) => {
    cumulative += p;
    // removed when cumulative <= 1 - top_p, except the last (most likely) token
    if (cumulative > 1 - topP || i === ascending.length - 1) kept.add(id);
  });
  return kept;
}

function softmax(values: ArrayLike<number>, temperature = 1): number[] {
  const max = Math.max(...Array.from(values));
  const weights = Array.from(values, (v) => Math.exp((v - max) / temperature));
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

const noWarp: SamplingWarpers = { temperature: 1, top_k: 0, top_p: 1 };

describe('lib/generation/sampler', () => {
  it('with top_k 1 always picks the arg-max, like greedy decoding', () => {
    const random = seededRandom(1);
    for (let trial = 0; trial < 50; trial++) {
      const logits = randomLogits(100 + trial);
      const greedy = argmax(logits);
      for (const top_p of [1, 0.9, 0.5]) {
        for (const temperature of [0.5, 1, 2]) {
          assert.equal(sampleNextToken(logits, { temperature, top_k: 1, top_p }, random), greedy);
        }
      }
    }
  });

  it('takes the first of equal maxima as the arg-max, like torch.argmax', () => {
    assert.equal(argmax(Float32Array.from([1, 5, 2, 5])), 1);
  });

  it('never draws outside the top-p nucleus, and draws inside it in proportion (10,000 draws)', () => {
    // A known distribution, its tokens scattered at random ids. 2,000 tokens rather than
    // GPT-2's 50,257 keep 10,000 draws without top-k fast; the nucleus search on the full
    // vocabulary is covered by the other tests.
    const VOCAB = 2000;
    const head = [0.3, 0.2, 0.15, 0.1, 0.08, 0.06, 0.04, 0.03, 0.02];
    const tailMass = 1 - head.reduce((a, b) => a + b, 0);
    const shuffle = seededRandom(5);
    const ids = Array.from({ length: VOCAB }, (_, i) => i);
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(shuffle() * (i + 1));
      [ids[i], ids[j]] = [ids[j], ids[i]];
    }
    const probabilities = new Array<number>(VOCAB).fill(tailMass / (VOCAB - head.length));
    head.forEach((p, rank) => (probabilities[ids[rank]] = p));
    const logits = Float32Array.from(probabilities, (p) => Math.log(p));
    const top_p = 0.9;

    const nucleus = referenceNucleus(softmax(logits), top_p);
    assert.equal(nucleus.size, 7); // 0.3+...+0.06 = 0.89 < 0.9, so the 0.04 token is the last kept
    const distribution = candidateDistribution(logits, { temperature: 1, top_k: 0, top_p });
    assert.deepEqual(new Set(distribution.ids), nucleus);

    const draws = 10_000;
    const counts = new Map<number, number>();
    const random = seededRandom(2024);
    for (let i = 0; i < draws; i++) {
      const token = sampleNextToken(logits, { temperature: 1, top_k: 0, top_p }, random);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    for (const token of counts.keys()) assert.ok(nucleus.has(token), `token ${token} is outside the nucleus`);

    // Tolerance: each count is Binomial(10000, p) with p the renormalised probability; we
    // allow 4.5 standard deviations (a miss has probability ~7e-6 per token, so < 1e-4
    // for the 7 tokens) and check the chi-square statistic against its 0.1% critical
    // value for 6 degrees of freedom (22.46).
    const nucleusMass = [...nucleus].reduce((sum, id) => sum + probabilities[id], 0);
    let chiSquare = 0;
    for (const id of nucleus) {
      const p = probabilities[id] / nucleusMass;
      const expected = draws * p;
      const observed = counts.get(id) ?? 0;
      const sd = Math.sqrt(draws * p * (1 - p));
      assert.ok(Math.abs(observed - expected) <= 4.5 * sd, `token ${id}: observed ${observed}, expected ${expected.toFixed(0)}`);
      chiSquare += (observed - expected) ** 2 / expected;
    }
    assert.ok(chiSquare < 22.46, `chi-square ${chiSquare.toFixed(2)} for 6 degrees of freedom`);
  });

  it('finds the same nucleus as a full sort on random and tied weights', () => {
    for (let trial = 0; trial < 30; trial++) {
      const logits = randomLogits(300 + trial, 2000, 2 + (trial % 4) * 2);
      const probabilities = softmax(logits);
      for (const top_p of [0.1, 0.5, 0.9, 0.95, 0.999]) {
        const { ids } = candidateDistribution(logits, { temperature: 1, top_k: 0, top_p });
        assert.deepEqual(new Set(ids), referenceNucleus(probabilities, top_p), `trial ${trial}, top_p ${top_p}`);
      }
    }
    // Ties at the boundary are all kept; the most likely token is always kept.
    const tied = Float64Array.from([4, 1, 1, 1, 1]);
    assert.equal(nucleusThreshold(tied, 8, 0.6), 1);
    assert.equal(nucleusThreshold(Float64Array.from([9, 1]), 10, 0.01), 9);
  });

  it('keeps the k most likely tokens with top_k, then applies top_p to them', () => {
    const logits = randomLogits(77);
    const topFifty = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 50);
    const { ids, probabilities } = candidateDistribution(logits, { temperature: 1, top_k: 50, top_p: 1 });
    assert.deepEqual(new Set(ids), new Set(topFifty));
    const expected = softmax(Array.from(ids, (id) => logits[id]));
    probabilities.forEach((p, i) => assert.ok(Math.abs(p - expected[i]) < 1e-12));

    const withTopP = candidateDistribution(logits, { temperature: 1, top_k: 50, top_p: 0.5 });
    const reference = referenceNucleus(softmax(Array.from(ids, (id) => logits[id])), 0.5);
    assert.deepEqual(new Set(withTopP.ids), new Set([...reference].map((i) => ids[i])));
  });

  it('finds the same top-k as a full sort, with ties at the k-th kept and forbidden tokens left out, for small and large k', () => {
    /** HF's TopKLogitsWarper the obvious way: every finite logit >= the k-th largest, in id order. */
    const reference = (logits: Float32Array, k: number): number[] => {
      const kth = Array.from(logits).sort((a, b) => b - a)[Math.min(k, logits.length) - 1];
      return Array.from(logits.keys()).filter((id) => logits[id] >= kth && logits[id] > -Infinity);
    };
    for (let trial = 0; trial < 12; trial++) {
      const logits = randomLogits(500 + trial, 5000);
      // Coarse values make many ties, also at the k-th; some tokens are forbidden.
      if (trial % 2 === 1) for (let i = 0; i < logits.length; i++) logits[i] = Math.round(logits[i] * 2) / 2;
      for (let i = trial; i < logits.length; i += 97) logits[i] = -Infinity;
      for (const k of [1, 5, 50, 1024, 2000]) {
        const { ids } = candidateDistribution(logits, { temperature: 1, top_k: k, top_p: 1 });
        assert.deepEqual(Array.from(ids), reference(logits, k), `trial ${trial}, top_k ${k}`);
      }
    }
    // Fewer finite tokens than k: all of them.
    const few = Float32Array.from([1, -Infinity, 3, -Infinity, 2]);
    assert.deepEqual(Array.from(candidateDistribution(few, { temperature: 1, top_k: 4, top_p: 1 }).ids), [0, 2, 4]);
  });

  it('divides the logits by the temperature before top-k and top-p', () => {
    const logits = randomLogits(11, 500);
    for (const temperature of [0.3, 1, 1.7]) {
      const { ids, probabilities } = candidateDistribution(logits, { ...noWarp, temperature });
      const expected = softmax(logits, temperature);
      assert.equal(ids.length, logits.length);
      ids.forEach((id, i) => assert.ok(Math.abs(probabilities[i] - expected[id]) < 1e-12));
    }
    const best = argmax(logits);
    const peak = (temperature: number): number => {
      const { ids, probabilities } = candidateDistribution(logits, { ...noWarp, temperature });
      return probabilities[Array.from(ids).indexOf(best)];
    };
    assert.ok(peak(0.3) > peak(1) && peak(1) > peak(1.7), 'lower temperature sharpens, higher flattens');
    // The top-p nucleus is computed on the tempered probabilities: fewer tokens when colder.
    const nucleusSize = (temperature: number): number => candidateDistribution(logits, { temperature, top_k: 0, top_p: 0.9 }).ids.length;
    assert.ok(nucleusSize(0.5) < nucleusSize(1) && nucleusSize(1) < nucleusSize(2));
  });

  it('applies the repetition penalty once per distinct token of prompt and output', () => {
    const logits = Float32Array.from([2, -2, 3, -1, 4]);
    const history = new TokenHistory([0, 1, 1, 1], 0);
    history.push(4);
    processLogits(logits, history, { repetition_penalty: 2, suppressed: [] });
    assert.deepEqual(Array.from(logits), [1, -4, 3, -1, 2]);
    const unchanged = Float32Array.from([2, -2, 3]);
    processLogits(unchanged, new TokenHistory([0, 1], 0), { repetition_penalty: 1, suppressed: [] });
    assert.deepEqual(Array.from(unchanged), [2, -2, 3]);
  });

  it('forbids the token that would repeat an n-gram (no_repeat_ngram_size)', () => {
    const banned = (ids: number[], n: number): number[] => {
      const logits = new Float32Array(10);
      processLogits(logits, new TokenHistory(ids, n), { repetition_penalty: 1, suppressed: [] });
      return Array.from(logits.keys()).filter((id) => logits[id] === -Infinity);
    };
    assert.deepEqual(banned([1, 2, 3, 1, 2], 3), [3]); // "1 2 3" exists and the text ends in "1 2"
    assert.deepEqual(banned([1, 2, 3, 1, 2], 2), [3]); // "2 3" exists and the text ends in "2"
    assert.deepEqual(banned([5, 6, 5, 7, 5], 2), [6, 7]);
    assert.deepEqual(banned([1, 2, 3, 4], 2), []);
    assert.deepEqual(banned([4, 4, 2], 1), [2, 4]); // unigrams: nothing may appear twice
    assert.deepEqual(banned([1, 2], 3), []); // too short to complete a 3-gram
    assert.deepEqual(banned([1, 2, 1, 2], 0), []);
    // Tokens pushed after the prompt count the same way.
    const history = new TokenHistory([8, 9], 2);
    history.push(8);
    const logits = new Float32Array(10);
    processLogits(logits, history, { repetition_penalty: 1, suppressed: [] });
    assert.equal(logits[9], -Infinity);
  });

  it('never picks a suppressed token (end-of-text before min_new_tokens)', () => {
    const logits = Float32Array.from([0, 0, 10]);
    processLogits(logits, new TokenHistory([0], 0), { repetition_penalty: 1, suppressed: [2] });
    assert.equal(argmax(logits), 0);
    const random = seededRandom(3);
    for (let i = 0; i < 200; i++) assert.notEqual(sampleNextToken(logits, { temperature: 1, top_k: 50, top_p: 1 }, random), 2);
  });

  it('gives the same token sequence for the same seed', () => {
    const run = (seed: number): number[] => {
      const random = seededRandom(seed);
      return Array.from({ length: 40 }, (_, step) =>
        sampleNextToken(randomLogits(step, 5000, 1), { temperature: 1, top_k: 50, top_p: 0.95 }, random),
      );
    };
    assert.deepEqual(run(99), run(99));
    assert.notDeepEqual(run(99), run(100));
  });
});
