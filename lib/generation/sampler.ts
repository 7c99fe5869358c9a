/**
 * Choosing the next token from a row of logits, with the semantics of Hugging Face
 * `generate`: logits processors first (repetition penalty, then no-repeat-ngram, then the
 * end-of-text ban of `min_new_tokens`), then for sampling the warpers (temperature, top-k,
 * top-p) and a multinomial draw; without sampling, the arg-max.
 *
 * The vocabulary is never sorted: top-k keeps a k-sized heap in one pass, and the top-p
 * nucleus is found by a quickselect-style partition of the candidates' weights, so a
 * sampled step costs a few linear passes over the logits, about what the arg-max costs.
 */
import type { RandomSource } from './random';

/** The sampling part of the options (Hugging Face names). */
export interface SamplingWarpers {
  /** > 0; divides the logits before top-k/top-p. */
  temperature: number;
  /** Keep the k most likely tokens; 0 turns top-k off. */
  top_k: number;
  /** Keep the smallest set of most likely tokens whose probability reaches top_p; 1 turns it off. */
  top_p: number;
}

/**
 * The token ids of one sequence so far (prompt and generated), with the indexes the logits
 * processors need, kept up to date token by token rather than rebuilt every step.
 */
export class TokenHistory {
  private readonly ids: number[] = [];
  private readonly seen = new Set<number>();
  /** For no-repeat-ngram: each (n-1)-token prefix seen so far -> the tokens that followed it. */
  private readonly followers = new Map<string, Set<number>>();

  constructor(
    initialIds: readonly number[],
    private readonly noRepeatNgramSize: number,
  ) {
    for (const id of initialIds) this.push(id);
  }

  get length(): number {
    return this.ids.length;
  }

  push(id: number): void {
    this.ids.push(id);
    this.seen.add(id);
    const n = this.noRepeatNgramSize;
    if (n > 0 && this.ids.length >= n) {
      const prefix = this.ids.slice(this.ids.length - n, this.ids.length - 1).join(',');
      let next = this.followers.get(prefix);
      if (!next) this.followers.set(prefix, (next = new Set()));
      next.add(id);
    }
  }

  /** Every distinct token of the sequence (repetition penalty counts each once, as HF does). */
  distinctTokens(): Iterable<number> {
    return this.seen;
  }

  /** Tokens that would complete an n-gram already present in the sequence. */
  bannedByNgram(): Iterable<number> {
    const n = this.noRepeatNgramSize;
    if (n <= 0 || this.ids.length + 1 < n) return [];
    const prefix = this.ids.slice(this.ids.length - n + 1).join(',');
    return this.followers.get(prefix) ?? [];
  }
}

export interface LogitsProcessing {
  /** 1 = off; > 1 makes tokens already in the sequence less likely (CTRL paper, as in HF). */
  repetition_penalty: number;
  /** Tokens to forbid at this step (the end-of-text ids while `min_new_tokens` is not reached). */
  suppressed: readonly number[];
}

/** Applies the logits processors in place, in Hugging Face's order. */
export function processLogits(logits: Float32Array, history: TokenHistory, processing: LogitsProcessing): void {
  const penalty = processing.repetition_penalty;
  if (penalty !== 1) {
    for (const id of history.distinctTokens()) {
      const value = logits[id];
      logits[id] = value < 0 ? value * penalty : value / penalty;
    }
  }
  for (const id of history.bannedByNgram()) logits[id] = -Infinity;
  for (const id of processing.suppressed) logits[id] = -Infinity;
}

/** The index of the largest logit (the first one on ties, like `torch.argmax`). */
export function argmax(logits: Float32Array): number {
  let best = 0;
  let bestValue = logits[0];
  for (let i = 1; i < logits.length; i++) {
    if (logits[i] > bestValue) {
      bestValue = logits[i];
      best = i;
    }
  }
  return best;
}

/** Restores the min-heap of (value, id) pairs below `start`. */
function siftDown(values: Float32Array, ids: Int32Array, size: number, start: number): void {
  const value = values[start];
  const id = ids[start];
  let i = start;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && values[child + 1] < values[child]) child++;
    if (!(values[child] < value)) break;
    values[i] = values[child];
    ids[i] = ids[child];
    i = child;
  }
  values[i] = value;
  ids[i] = id;
}

function siftUp(values: Float32Array, ids: Int32Array, at: number): void {
  const value = values[at];
  const id = ids[at];
  let i = at;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!(value < values[parent])) break;
    values[i] = values[parent];
    ids[i] = ids[parent];
    i = parent;
  }
  values[i] = value;
  ids[i] = id;
}

/**
 * The ids of the `k` largest finite logits, in one pass with a k-sized min-heap of (value, id)
 * pairs, and the k-th largest value. `complete` is false when a logit tied with the k-th may
 * have been left out of the heap: HF keeps such ties, so the caller collects by threshold.
 */
function topK(logits: Float32Array, k: number): { ids: Int32Array; threshold: number; complete: boolean } {
  const values = new Float32Array(k);
  const ids = new Int32Array(k);
  let size = 0;
  // The largest value left out of the heap while it equalled the heap's smallest.
  let lostTie = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (size < k) {
      if (v === -Infinity) continue;
      values[size] = v;
      ids[size] = i;
      siftUp(values, ids, size++);
    } else if (v > values[0]) {
      const evicted = values[0];
      values[0] = v;
      ids[0] = i;
      siftDown(values, ids, k, 0);
      if (evicted === values[0]) lostTie = evicted;
    } else if (v === values[0] && v > lostTie) {
      lostTie = v;
    }
  }
  const threshold = size === k ? values[0] : -Infinity;
  return { ids: ids.subarray(0, size), threshold, complete: size < k || lostTie !== threshold };
}

/**
 * The weight threshold of the top-p nucleus: tokens whose weight is >= the result are kept.
 * A token is kept when the mass of the tokens more likely than it is below `topP` of the
 * total (HF's rule, which always keeps the most likely token). Tokens tied at the boundary
 * are all kept. Expected linear time: a three-way partition around a pivot, then only the
 * side that contains the boundary is examined further.
 */
export function nucleusThreshold(weights: Float64Array, total: number, topP: number): number {
  // A token lighter than (1 - topP) * total / n cannot be in the nucleus: it and every token
  // lighter than it weigh less than (1 - topP) * total together, so more than topP of the
  // mass lies above it. Only the others are searched (most of a trained model's vocabulary
  // falls below the bound); the target mass stays that of all tokens.
  const bound = ((1 - topP) * total) / weights.length;
  const w = new Float64Array(weights.length);
  let count = 0;
  for (let i = 0; i < weights.length; i++) if (weights[i] >= bound) w[count++] = weights[i];
  const target = topP * total;
  let lo = 0;
  let hi = count;
  let massAbove = 0;
  while (lo < hi) {
    const pivot = w[lo + ((hi - lo) >> 1)];
    // [lo, greaterEnd) > pivot, [greaterEnd, i) == pivot, [lessStart, hi) < pivot
    let greaterEnd = lo;
    let i = lo;
    let lessStart = hi;
    let greaterMass = 0;
    let equalMass = 0;
    while (i < lessStart) {
      const v = w[i];
      if (v > pivot) {
        w[i] = w[greaterEnd];
        w[greaterEnd] = v;
        greaterEnd++;
        i++;
        greaterMass += v;
      } else if (v < pivot) {
        lessStart--;
        w[i] = w[lessStart];
        w[lessStart] = v;
      } else {
        i++;
        equalMass += v;
      }
    }
    if (massAbove + greaterMass >= target) {
      hi = greaterEnd;
    } else if (massAbove + greaterMass + equalMass >= target) {
      return pivot;
    } else {
      massAbove += greaterMass + equalMass;
      lo = lessStart;
    }
  }
  // Rounding kept the cumulative mass just under the target: everything is in the nucleus.
  return -Infinity;
}

/** The tokens a sampled step can draw, with their probabilities (they sum to 1). */
export interface CandidateDistribution {
  ids: Int32Array;
  probabilities: Float64Array;
}

/**
 * The distribution `sampleNextToken` draws from, after temperature, top-k and top-p.
 * Exposed so tests can compare observed frequencies with it.
 */
export function candidateDistribution(logits: Float32Array, warpers: SamplingWarpers): CandidateDistribution {
  const { ids, weights, total } = warpedCandidates(logits, warpers);
  const probabilities = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) probabilities[i] = weights[i] / total;
  return { ids, probabilities };
}

interface WarpedCandidates {
  ids: Int32Array;
  /** Unnormalised probabilities, exp((logit - max) / temperature). */
  weights: Float64Array;
  total: number;
}

/** Up to this top_k a heap finds the candidates in one pass; above, selection does. */
const HEAP_TOP_K = 1024;

/** The k-th largest value (1 <= k <= length), by three-way quickselect on a copy. */
function kthLargest(values: Float32Array, k: number): number {
  const w = Float32Array.from(values);
  let lo = 0;
  let hi = w.length;
  for (;;) {
    const pivot = w[lo + ((hi - lo) >> 1)];
    // [lo, greaterEnd) > pivot, [greaterEnd, lessStart) == pivot, [lessStart, hi) < pivot
    let greaterEnd = lo;
    let i = lo;
    let lessStart = hi;
    while (i < lessStart) {
      const v = w[i];
      if (v > pivot) {
        w[i] = w[greaterEnd];
        w[greaterEnd++] = v;
        i++;
      } else if (v < pivot) {
        w[i] = w[--lessStart];
        w[lessStart] = v;
      } else {
        i++;
      }
    }
    if (k - 1 < greaterEnd) hi = greaterEnd;
    else if (k - 1 < lessStart) return pivot;
    else lo = lessStart;
  }
}

/** Reused by every call of finiteAtLeast (which never yields, so no two calls share it). */
let scratchIds = new Int32Array(0);

/** The ids of the finite logits >= `threshold`. */
function finiteAtLeast(logits: Float32Array, threshold: number): Int32Array {
  if (scratchIds.length < logits.length) scratchIds = new Int32Array(logits.length);
  let count = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v >= threshold && v > -Infinity) scratchIds[count++] = i;
  }
  return scratchIds.slice(0, count);
}

function warpedCandidates(logits: Float32Array, { temperature, top_k, top_p }: SamplingWarpers): WarpedCandidates {
  // Temperature is monotonic, so top-k can select on the raw logits; tokens tied with the
  // k-th are kept, as HF does. Forbidden (-Infinity) tokens are never candidates. One pass
  // over the vocabulary with a k-sized heap: sampling is a fraction of a model step.
  let ids: Int32Array;
  if (top_k > 0 && top_k <= HEAP_TOP_K) {
    const top = topK(logits, Math.min(top_k, logits.length));
    // In id order, as a scan of the vocabulary finds them (the draw walks them in this order).
    ids = top.complete ? top.ids.slice().sort() : finiteAtLeast(logits, top.threshold);
  } else {
    ids = finiteAtLeast(logits, top_k > 0 && top_k < logits.length ? kthLargest(logits, top_k) : -Infinity);
  }
  const count = ids.length;
  if (count === 0) throw new RangeError('every token is forbidden at this step');
  let max = -Infinity;
  for (let j = 0; j < count; j++) if (logits[ids[j]] > max) max = logits[ids[j]];
  const weights = new Float64Array(count);
  let total = 0;
  for (let j = 0; j < count; j++) {
    const weight = Math.exp((logits[ids[j]] - max) / temperature);
    weights[j] = weight;
    total += weight;
  }
  if (top_p >= 1) return { ids, weights, total };
  const cut = nucleusThreshold(weights, total, top_p);
  let kept = 0;
  let keptTotal = 0;
  for (let j = 0; j < count; j++) {
    if (weights[j] >= cut) {
      ids[kept] = ids[j];
      weights[kept++] = weights[j];
      keptTotal += weights[j];
    }
  }
  return { ids: ids.subarray(0, kept), weights: weights.subarray(0, kept), total: keptTotal };
}

/** Draws the next token from the warped distribution with one number from `random`. */
export function sampleNextToken(logits: Float32Array, warpers: SamplingWarpers, random: RandomSource): number {
  const { ids, weights, total } = warpedCandidates(logits, warpers);
  const r = random() * total;
  let cumulative = 0;
  for (let i = 0; i < ids.length; i++) {
    cumulative += weights[i];
    if (r < cumulative) return ids[i];
  }
  return ids[ids.length - 1];
}
