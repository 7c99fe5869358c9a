import assert from 'node:assert/strict';
import { MAX_SEED, Xoshiro128, randomSeed, seededRandom } from '../../lib/generation/random';

function draws(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => random());
}

describe('lib/generation/random', () => {
  it('implements xoshiro128** exactly (first outputs of the reference C code for state 1,2,3,4)', () => {
    // Printed by Blackman and Vigna's public-domain xoshiro128starstar.c compiled with gcc.
    const reference = [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804];
    const generator = new Xoshiro128([1, 2, 3, 4]);
    assert.deepEqual(
      reference.map(() => generator.nextUint32()),
      reference,
    );
  });

  it('gives the same numbers for the same seed and stream, different ones otherwise', () => {
    assert.deepEqual(draws(seededRandom(42), 100), draws(seededRandom(42), 100));
    assert.deepEqual(draws(seededRandom(MAX_SEED, 3), 20), draws(seededRandom(MAX_SEED, 3), 20));
    assert.notDeepEqual(draws(seededRandom(42), 5), draws(seededRandom(43), 5));
    assert.notDeepEqual(draws(seededRandom(42, 0), 5), draws(seededRandom(42, 1), 5));
    // Seeds that differ only above 32 bits are different seeds.
    assert.notDeepEqual(draws(seededRandom(1), 5), draws(seededRandom(1 + 2 ** 32), 5));
  });

  it('gives each prompt its own numbers for one seed, and the same ones for the same seed and prompt', () => {
    const vera = 'Write a short welcome email from Example Shop to Vera. Offer: none.\nHi Vera,';
    const ethan = 'Write a short welcome email from Example Shop to Ethan. Offer: none.\nHi Ethan,';
    assert.deepEqual(draws(seededRandom(7, 0, vera), 50), draws(seededRandom(7, 0, vera), 50));
    assert.notDeepEqual(draws(seededRandom(7, 0, vera), 5), draws(seededRandom(7, 0, ethan), 5));
    assert.notDeepEqual(draws(seededRandom(7, 0, vera), 5), draws(seededRandom(7, 1, vera), 5));
    assert.deepEqual(draws(seededRandom(7, 2, ''), 20), draws(seededRandom(7, 2), 20), 'no text is the seed\'s own stream');
  });

  it('draws uniform doubles in [0, 1)', () => {
    const values = draws(seededRandom(7), 100_000);
    assert.ok(values.every((v) => v >= 0 && v < 1));
    // Ten equal bins: each count is Binomial(100000, 0.1), sd about 95; 5 sd is a 1-in-a-million miss.
    const bins = new Array<number>(10).fill(0);
    for (const v of values) bins[Math.floor(v * 10)]++;
    for (const count of bins) assert.ok(Math.abs(count - 10_000) < 5 * 95, `bin count ${count}`);
  });

  it('refuses seeds that are not integers from 0 to 2^53 - 1', () => {
    for (const bad of [-1, 1.5, Number.NaN, MAX_SEED + 1]) assert.throws(() => seededRandom(bad), RangeError);
  });

  it('draws fresh seeds for requests without one', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => randomSeed()));
    assert.ok(seeds.size > 15);
    for (const seed of seeds) assert.ok(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32);
  });
});
