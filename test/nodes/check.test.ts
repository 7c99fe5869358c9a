import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import checkNode from '../../nodes/check/check';
import { collect } from '../support/collect';

helper.init(require.resolve('node-red'));

type Message = Record<string, unknown>;
type Finding = { check: string; code: string; reason: string; excerpt: string };
type Candidate = { index: number; text: string; passed: boolean; failed: Finding[]; warnings: Finding[] };
type CheckResult = { passed: boolean; chosen: number; score?: { warnings: number; lengthDistance: number }; candidates: Candidate[] };
type CaughtError = { message: string; code?: string; source: { id: string } };

const vera = { email: 'vera.keller@example.com', firstName: 'Vera', name: 'Vera Keller', language: 'en', city: 'Munich' };
const maChao = { email: 'ma.chao@example.cn', firstName: '马超', name: '马超', language: 'zh', city: '成都' };

/** A tab whose environment has the brand and the offer code, the check node, its two outputs and a Catch node. */
function flow(check: Message): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'campaign', env: [{ name: 'BRAND', value: 'Example Shop', type: 'str' }, { name: 'OFFER', value: 'WELCOME10', type: 'str' }] },
    { id: 'check', z: 'tab', x: 100, y: 40, type: 'marketing-check', brand: '${BRAND}', allowedOffers: '${OFFER}', minLength: 20, maxLength: 200, ...check, wires: [['passed'], ['review']] },
    { id: 'passed', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
    { id: 'review', z: 'tab', x: 300, y: 80, type: 'helper', wires: [] },
    { id: 'catch', z: 'tab', x: 100, y: 100, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', x: 300, y: 100, type: 'helper', wires: [] },
  ];
}

/** Sends each message and waits until each has left on an output or as a caught error. */
async function run(check: Message, messages: Message[]) {
  await helper.load([checkNode], flow(check));
  const out = { passed: collect<Message>('passed'), review: collect<Message>('review'), caught: collect<Message>('caught') };
  for (const msg of messages) helper.getNode('check').receive(msg);
  const deadline = Date.now() + 5000;
  while (out.passed.length + out.review.length + out.caught.length < messages.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  return out;
}

function lastStatus(): { fill?: string; text?: string } {
  const node = helper.getNode('check');
  const spy = node.status as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  const calls = spy.getCalls().filter((call) => call.thisValue === node);
  return calls[calls.length - 1].args[0] as { fill?: string; text?: string };
}

describe('marketing-check node', function () {
  this.timeout(10000);
  afterEach(async function () {
    await helper.unload();
  });

  it('sends the best passing candidate on output 1, with every candidate\'s results', async function () {
    const candidates = [
      'Good morning Quentin, welcome to Example Shop!',
      'Dear Vera, thank you for your order.',
      'Dear Vera, welcome to Example Shop! Use WELCOME10 on your next order.',
    ];
    const { passed, review, caught } = await run({}, [{ payload: candidates, contact: vera, segment: { name: 'new customers' }, topic: 't' }]);
    assert.equal(review.length + caught.length, 0);
    assert.equal(passed.length, 1);
    assert.equal(passed[0].payload, candidates[2]);
    assert.equal(passed[0].topic, 't');
    const check = passed[0].check as CheckResult;
    assert.equal(check.chosen, 2, 'candidate 1 passes too, but without naming the brand (a warning)');
    assert.deepEqual(check.score, { warnings: 0, lengthDistance: Math.abs(candidates[2].length - 110) });
    assert.deepEqual(check.candidates.map((c) => c.passed), [false, true, true]);
    assert.equal(check.candidates[0].failed[0].code, 'wrongPerson');
    // The test helper loads no message catalog: reasons are their keys here (their texts: the last test).
    assert.deepEqual(check.candidates[0].failed[0], { check: 'greeting', code: 'wrongPerson', reason: 'check.reasons.wrongPerson', excerpt: 'Good morning Quentin, welcome to Example Shop!' });
    assert.equal(check.candidates[1].warnings[0].code, 'brandNotNamed');
    assert.deepEqual(lastStatus(), { fill: 'green', shape: 'dot', text: 'check.status.counts' });
  });

  it('holds a message for review on output 2 when no candidate passes, with reasons and excerpts', async function () {
    const candidates = [
      'Hey十亚麻床品套装，欢迎选购。',
      'Dear Vera, welcome to Greenleaf Tea! Here is 25% off with the code SUMMER30.',
    ];
    const { passed, review } = await run({}, [{ payload: candidates, contact: vera }]);
    assert.equal(passed.length, 0);
    assert.equal(review.length, 1);
    assert.deepEqual(review[0].payload, candidates, 'the candidates, unchanged');
    const check = review[0].check as CheckResult;
    assert.equal(check.passed, false);
    assert.equal(check.chosen, -1);
    assert.deepEqual(check.candidates[0].failed.map((f) => f.code), ['notAddressed', 'wrongLanguage', 'tooShort']);
    assert.deepEqual(check.candidates[1].failed.map((f) => [f.code, f.excerpt]), [
      ['inventedOffer', '…to Greenleaf Tea! Here is 25% off with the code SUMMER30.'],
      ['inventedOffer', '…is 25% off with the code SUMMER30.'],
      ['otherBrand', 'Dear Vera, welcome to Greenleaf Tea! Here is 25% off with…'],
    ]);
    assert.equal(check.candidates[1].text, candidates[1]);
    assert.deepEqual(lastStatus(), { fill: 'yellow', shape: 'dot', text: 'check.status.counts' });
  });

  it('checks a single text, in Chinese too', async function () {
    const { passed } = await run({}, [{ payload: '尊敬的马超：感谢您一直以来对Example Shop的支持，祝您生活愉快！', contact: maChao }]);
    assert.equal(passed.length, 1);
    assert.equal((passed[0].check as CheckResult).chosen, 0);
  });

  it('takes msg.check overrides for one message only', async function () {
    const text = 'Dear Vera, use COMEBACK20 at Example Shop this week.';
    const { passed, review } = await run({}, [
      { payload: text, contact: vera },
      { payload: text, contact: vera, check: { allowedOffers: ['COMEBACK20'] } },
      { payload: 'Hello there, welcome to Example Shop!', contact: vera, check: { enabled: { greeting: false } } },
      { payload: 'Dear Vera, welcome to Example Shop!', contact: vera, check: { minLength: 100, maxLength: 300 } },
    ]);
    assert.deepEqual(review.map((m) => (m.check as CheckResult).candidates[0].failed.map((f) => f.code)), [['inventedOffer'], ['tooShort']]);
    assert.equal(passed.length, 2);
  });

  it('sends bad input to a Catch node as a coded error with a red status, on no output', async function () {
    const inputs: [Message, string][] = [
      [{ payload: 42, contact: vera }, 'badPayload'],
      [{ payload: [], contact: vera }, 'noCandidates'],
      [{ payload: [['a', 'b']], contact: vera }, 'badCandidate'],
      [{ payload: 'Dear Vera, hello.' }, 'noContact'],
      [{ payload: 'Dear Vera, hello.', contact: vera, check: 'strict' }, 'badOverrides'],
      [{ payload: 'Dear Vera, hello.', contact: vera, check: { minLength: -3 } }, 'badNumber'],
    ];
    const { passed, review, caught } = await run({}, inputs.map(([msg]) => msg));
    assert.equal(passed.length + review.length, 0);
    const errors = caught.map((msg) => msg.error as CaughtError);
    assert.deepEqual(errors.map((e) => e.code), inputs.map(([, code]) => code));
    assert.equal(errors[0].message, 'Error: check.errors.badPayload');
    assert.equal(errors[0].source.id, 'check');
    assert.equal(lastStatus().fill, 'red');
  });

  it('refuses a custom pattern that cannot run in bounded time when deployed, and fails every message with it', async function () {
    const { passed, review, caught } = await run({ custom: true, customPattern: '(a+)\\1' }, [{ payload: 'Dear Vera, hello.', contact: vera }]);
    assert.equal(passed.length + review.length, 0);
    assert.equal((caught[0].error as CaughtError).code, 'unsupportedRegex');
  });

  it('runs a custom pattern', async function () {
    const { review } = await run({ custom: true, customPattern: 'unsubscribe', customMode: 'must', customIgnoreCase: true }, [{ payload: 'Dear Vera, welcome to Example Shop!', contact: vera }]);
    assert.equal((review[0].check as CheckResult).candidates[0].failed[0].code, 'customMissing');
  });

  it('has a reason text in both languages for every finding code lib/checks can give', function () {
    const source = readFileSync(join(__dirname, '../../../lib/checks/checks.ts'), 'utf8');
    const codes = new Set([...source.matchAll(/finding\('\w+', '(\w+)'|code: '(\w+)'/g)].map((m) => m[1] ?? m[2]));
    assert.ok(codes.size >= 15, [...codes].join());
    for (const lang of ['en-US', 'zh-CN']) {
      const catalog = JSON.parse(readFileSync(join(__dirname, '../../../nodes/check/locales', lang, 'check.json'), 'utf8'));
      assert.deepEqual([...codes].filter((code) => !catalog.check.reasons[code]), [], lang);
    }
  });
});
