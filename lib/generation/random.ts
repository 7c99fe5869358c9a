/**
 * The project's own seeded pseudo-random numbers. Sampling must give the same text for the
 * same seed on every run, machine and Node.js version, which `Math.random` cannot promise
 * (it is unseedable and engine-defined). xoshiro128** (Blackman and Vigna) uses only 32-bit
 * integer arithmetic (`Math.imul`, shifts), so its stream is fully specified by the seed.
 */
import { randomInt } from 'node:crypto';

/** A source of uniform doubles in [0, 1). */
export type RandomSource = () => number;

/** Seeds are integers from 0 to 2^53 - 1, so that any JSON number a user types is exact. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

const TWO_POW_32 = 0x1_0000_0000;

function rotateLeft(x: number, bits: number): number {
  return (x << bits) | (x >>> (32 - bits));
}

/** The murmur3 finaliser: spreads every input bit over the whole 32-bit word. */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** xoshiro128**: 128 bits of state, period 2^128 - 1. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** From four 32-bit words of state, not all zero (the reference algorithm's seeding). */
  constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((word) => word >>> 0);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer of the stream. */
  nextUint32(): number {
    const result = Math.imul(rotateLeft(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotateLeft(this.s3, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits, built from two words like `genrand_res53`. */
  nextDouble(): number {
    const high = this.nextUint32() >>> 5;
    const low = this.nextUint32() >>> 6;
    return (high * 67108864 + low) / 9007199254740992;
  }
}

/** FNV-1a over the UTF-16 code units of `text`: 0 for no text. */
function hashText(text: string): number {
  if (text === '') return 0;
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/**
 * A random source for `seed`. `stream` selects an independent stream for the same seed:
 * the i-th of several sequences sampled together uses stream i, so sequence 0 of a batch
 * draws the same numbers as a single sequence with that seed. `text` (the prompt) selects
 * the stream too, so that one seed gives every prompt of a campaign its own draws (the same
 * numbers for every contact would give near-identical texts for prompts that differ only
 * in a name), while the same seed and prompt always give the same numbers.
 */
export function seededRandom(seed: number, stream = 0, text = ''): RandomSource {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be an integer from 0 to ${MAX_SEED}`);
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  // Four words from a splitmix-style counter over the mixed seed parts, as the xoshiro
  // authors recommend, so that neighbouring seeds give unrelated streams.
  const key = mix32(low ^ mix32(high ^ mix32(stream ^ 0x9e3779b9 ^ mix32(hashText(text)))));
  const words: [number, number, number, number] = [0, 0, 0, 0];
  for (let i = 0; i < 4; i++) words[i] = mix32(key + Math.imul(i + 1, 0x9e3779b9));
  const generator = new Xoshiro128(words);
  return () => generator.nextDouble();
}

/** A fresh seed for requests without one; it is reported so the text can be reproduced. */
export function randomSeed(): number {
  return randomInt(0, TWO_POW_32);
}
