/**
 * What a hostile `matches regex` rule costs (not a test: it prints figures).
 *
 *   npm run bench:regex [-- --repeat 5]
 *
 * The rule `bio matches (a+)+$` segments one contact whose bio is `a` repeated then `!`, through
 * compileSegmentRules, the call the segment node makes in its input handler: that handler runs
 * it synchronously, so the time measured is time the event loop is blocked. Also printed: the
 * same pattern on JavaScript's RegExp at small lengths (each 2 more `a` is 4 times longer, hence
 * 40 s at 32), the deploy-time compile, and a million tests of the benchmark's everyday patterns
 * on re2js and on RegExp.
 */
import { compileSegmentRules, type Segmenter } from '../lib/segmentation/segment';
import { compileSafeRegex, REGEX_TEXT_LIMIT } from '../lib/safe-regex';
import { generateContacts } from './contacts';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const repeat = option('repeat', 5);

function ms(from: bigint): number {
  return Number(process.hrtime.bigint() - from) / 1e6;
}

function format(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `first ${values[0].toFixed(2)} ms, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, max ${sorted.at(-1)?.toFixed(2)} ms`;
}

function segmenterFor(pattern: string): Segmenter {
  return compileSegmentRules({
    segments: [{ name: 'Hostile', join: 'all', rules: [{ field: 'bio', op: 'regex', value: pattern }] }],
    optOutField: '', emailField: '', dedupe: false,
  });
}

console.log(`node ${process.version}, text limit ${REGEX_TEXT_LIMIT} characters, ${repeat} runs each\n`);

const compiles: number[] = [];
for (let run = 0; run < repeat; run++) {
  const start = process.hrtime.bigint();
  segmenterFor('(a+)+$');
  compiles.push(ms(start));
}
console.log(`deploy: compile the rule bio matches (a+)+$: ${format(compiles)}`);

console.log('\nevent-loop time of segmenting one contact, through compileSegmentRules:');
const cases: [string, string, string][] = [
  ['(a+)+$', `${'a'.repeat(32)}!`, '32 "a" + "!"'],
  ['(a+)+$', `${'a'.repeat(49_999)}!`, '49,999 "a" + "!" (over the limit: not tested)'],
  ['(a+)+$', `${'a'.repeat(REGEX_TEXT_LIMIT - 1)}!`, `${REGEX_TEXT_LIMIT - 1} "a" + "!" (longest text tested)`],
  ['^(\\S+)+@(\\S+)+\\.\\S+$', `${'a@a.'.repeat(REGEX_TEXT_LIMIT / 4 - 1)}a `, `${REGEX_TEXT_LIMIT - 2} characters "a@a.a@a. ... a "`],
];
for (const [pattern, bio, what] of cases) {
  const segmenter = segmenterFor(pattern);
  const times: number[] = [];
  let matched = 0;
  for (let run = 0; run < repeat; run++) {
    const start = process.hrtime.bigint();
    matched = segmenter.segment([{ bio }], { now: 0 }).segments[0].length;
    times.push(ms(start));
  }
  console.log(`  ${pattern} on ${what}: ${format(times)} (matched: ${matched})`);
}

console.log('\nfor comparison, JavaScript RegExp /(a+)+$/ (what the rule used before), once each:');
for (const count of [16, 18, 20, 22]) {
  const start = process.hrtime.bigint();
  /(a+)+$/.test(`${'a'.repeat(count)}!`);
  console.log(`  ${count} "a" + "!": ${ms(start).toFixed(1)} ms`);
}

console.log('\na million tests of everyday patterns (the segment benchmark\'s), best of 3:');
const values = generateContacts(1_000_000).map((contact, i) => String(i % 2 ? contact.country : contact.firstName));
for (const pattern of ['^(FR|BE|CH)$', '^[A-M]', '\\.com$']) {
  const safe = compileSafeRegex(pattern);
  const native = new RegExp(pattern);
  const best = (test: (text: string) => boolean): [number, number] => {
    let fastest = Infinity;
    let count = 0;
    for (let run = 0; run < 3; run++) {
      const start = process.hrtime.bigint();
      count = 0;
      for (const value of values) if (test(value)) count++;
      fastest = Math.min(fastest, ms(start));
    }
    return [fastest, count];
  };
  const [safeMs, safeCount] = best(safe);
  const [nativeMs, nativeCount] = best((text) => native.test(text));
  console.log(`  ${pattern.padEnd(14)} re2js ${safeMs.toFixed(0)} ms, RegExp ${nativeMs.toFixed(0)} ms (${safeCount} / ${nativeCount} matched)`);
}
