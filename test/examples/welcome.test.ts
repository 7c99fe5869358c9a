/**
 * Example 02, "Welcome email on sign-up", in a real Node-RED process (its HTTP In endpoint on
 * a loopback port), loaded from its JSON file with the marketing-smtp node pointed at a real
 * SMTP server on loopback: a good contact is welcomed once, with the bundled demo model, and
 * bad input gets a clear 4xx answer. As imported it is no open sender: every request is
 * refused until Node-RED has a secret in MARKETING_WELCOME_SECRET, then those without it;
 * all callers together get MARKETING_WELCOME_PER_MINUTE requests a minute; the caller's text
 * that reaches the subject and the prompt is short and holds no link.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverToSmtpServer, readExample } from '../support/examples';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

interface Answer { status: number; body: Record<string, unknown>; retryAfter: string | null }

const SECRET = 'welcome-secret-for-tests-0123';
const EXAMPLE = '02 - Welcome email on sign-up';

/** POSTs `body` to /welcome with `authorization` as the Authorization header (none when null). */
async function postTo(red: RunningNodeRed, body: string, authorization: string | null, contentType = 'application/json'): Promise<Answer> {
  const headers: Record<string, string> = { 'Content-Type': contentType };
  if (authorization !== null) headers.Authorization = authorization;
  const response = await fetch(new URL('welcome', red.url), { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, retryAfter: response.headers.get('retry-after') };
}

describe('example 02: welcome email on sign-up', function () {
  this.timeout(120_000);
  let userDir: string;
  let smtp: TestSmtpServer;
  let red: RunningNodeRed;

  before(async () => {
    smtp = await startTestSmtpServer();
    userDir = mkdtempSync(join(tmpdir(), 'marketing-example-02-'));
    red = await startNodeRed({
      userDir, linkPackage: true, flows: deliverToSmtpServer(readExample(EXAMPLE), smtp.port),
      // A limit these tests stay under: the limit itself is tested on a Node-RED of its own below.
      env: { MARKETING_WELCOME_SECRET: SECRET, MARKETING_WELCOME_PER_MINUTE: '100' },
    });
    // The flows start after the server listens; the endpoint answers once they run.
    await red.waitForOutput(/Started flows/);
  });
  after(async () => {
    await red?.stop();
    await smtp?.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  const post = (body: string, contentType = 'application/json'): Promise<Answer> => postTo(red, body, `Bearer ${SECRET}`, contentType);

  it('welcomes a new contact with a generated email, in the language of its segment, and says so', async () => {
    const anna = await post(JSON.stringify({ email: 'anna@example.com', firstName: 'Anna', name: 'Anna Becker', city: 'Berlin', language: 'en' }));
    assert.equal(anna.status, 200, JSON.stringify(anna.body));
    assert.equal(anna.body.status, 'sent');
    assert.equal(anna.body.to, 'anna@example.com');
    assert.equal(anna.body.segment, 'english');
    // The flow writes the greeting (the prompt's last line) before the model's text, the send node the sign-off with BRAND.
    assert.match(String(anna.body.text), /^Hi Anna,\n[\s\S]{20,}$/);
    const li = await post(JSON.stringify({ email: 'li.na@example.cn', firstName: '李娜', name: '李娜', city: '上海', language: 'zh' }));
    assert.equal(li.status, 200, JSON.stringify(li.body));
    assert.equal(li.body.segment, 'chinese');
    assert.match(String(li.body.text), /^李娜，您好！\n[\s\S]*[\u4e00-\u9fff]/);

    await smtp.waitForAccepted(2);
    const mail = await smtp.parse(0);
    assert.equal(mail.subject, 'Welcome to Example Shop, Anna!');
    assert.deepEqual((mail.to as { value: unknown[] }).value, [{ address: 'anna@example.com', name: 'Anna Becker' }]);
    assert.equal(mail.messageId, anna.body.messageId);
    assert.deepEqual(mail.from?.value, [{ address: 'news@shop.example', name: 'Example Shop' }]);
    assert.ok(String(mail.text).startsWith(`${String(anna.body.text)}\n\nWarm regards,\nThe Example Shop team\n\n--\n`), 'the email carries the text, then the sign-off');
  });

  it('does not welcome the same address twice (409), nor an opted-out contact (409)', async () => {
    const again = await post(JSON.stringify({ email: ' ANNA@example.com', firstName: 'Anna' }));
    assert.deepEqual([again.status, again.body.status, again.body.reason], [409, 'duplicate', 'alreadySent']);
    const optedOut = await post(JSON.stringify({ email: 'tom@example.com', firstName: 'Tom', unsubscribed: true }));
    assert.deepEqual([optedOut.status, optedOut.body.reason], [409, 'optedOut']);
    assert.equal(smtp.receivedCount('anna@example.com'), 1);
    assert.equal(smtp.receivedCount('tom@example.com'), 0);
  });

  it('answers bad input with a 4xx that says what is wrong', async () => {
    const invalid = await post(JSON.stringify({ email: 'anna(at)example.com', firstName: 'Anna' }));
    assert.deepEqual([invalid.status, invalid.body.reason], [422, 'invalidEmail']);
    const noName = await post(JSON.stringify({ email: 'bo@example.com' }));
    assert.deepEqual([noName.status, noName.body.code], [400, 'missingVariables']);
    assert.match(String(noName.body.message), /contact\.firstName/);
    for (const body of [JSON.stringify([{ email: 'a@example.com', firstName: 'A' }, { email: 'b@example.com', firstName: 'B' }]), 'hello']) {
      const answer = await post(body, body === 'hello' ? 'text/plain' : 'application/json');
      assert.deepEqual([answer.status, answer.body.code], [400, 'notOneContact'], body);
      assert.match(String(answer.body.message), /one contact as a JSON object/);
    }
    assert.equal(smtp.accepted.length, 2, 'nothing sent for bad input');
    assert.doesNotMatch(red.output(), /\[error\].*(TypeError|Cannot)/);
  });

  it('refuses a caller without the secret or with a wrong one (401), and sends nothing', async () => {
    const contact = JSON.stringify({ email: 'eve@example.com', firstName: 'Eve' });
    for (const authorization of [null, 'Bearer wrong-secret', `Bearer ${SECRET}x`, `Bearer ${SECRET.slice(0, -1)}`, SECRET]) {
      const answer = await postTo(red, contact, authorization);
      assert.deepEqual([answer.status, answer.body.code], [401, 'unauthorized'], String(authorization));
    }
    assert.equal(smtp.receivedCount('eve@example.com'), 0);
  });

  it('refuses a first name, name or city with a link, an address or too many characters (400), and sends nothing', async () => {
    const refused = [
      { firstName: 'Anna, your account is locked: visit http://phish.example/login!' },
      { firstName: 'phish.example' },
      { firstName: 'Anna your account is locked' },
      { firstName: 'Anna', name: 'Anna www.phish.example' },
      { firstName: 'Anna', name: 'write to boss@phish.example' },
      { firstName: 'Anna', city: 'Berlin\nVisit us' },
      { firstName: 'A'.repeat(31) },
      { firstName: 42 },
    ];
    for (const fields of refused) {
      const answer = await post(JSON.stringify({ email: 'mallory@example.com', ...fields }));
      assert.deepEqual([answer.status, answer.body.code], [400, 'badField'], JSON.stringify(fields));
      assert.match(String(answer.body.message), /\b(firstName|name|city) must be/);
    }
    assert.equal(smtp.receivedCount('mallory@example.com'), 0);
    // Real names of every kind still pass.
    const names = await post(JSON.stringify({ email: 'jr@example.com', firstName: "J. R. O'Brien-Smith", name: 'Zoë Ångström', city: 'St. Gallen' }));
    assert.equal(names.status, 200, JSON.stringify(names.body));
  });
});

describe('example 02 as imported: locked until a secret is set, then rate-limited', function () {
  this.timeout(120_000);
  const base = mkdtempSync(join(tmpdir(), 'marketing-example-02-locked-'));
  let smtp: TestSmtpServer;
  let unset: RunningNodeRed;
  let limited: RunningNodeRed;

  before(async () => {
    smtp = await startTestSmtpServer();
    const flows = deliverToSmtpServer(readExample(EXAMPLE), smtp.port);
    [unset, limited] = await Promise.all([
      startNodeRed({ userDir: join(base, 'unset'), linkPackage: true, flows, env: { MARKETING_WELCOME_SECRET: '' } }),
      startNodeRed({ userDir: join(base, 'limited'), linkPackage: true, flows, env: { MARKETING_WELCOME_SECRET: SECRET, MARKETING_WELCOME_PER_MINUTE: '3' } }),
    ]);
    await Promise.all([unset.waitForOutput(/Started flows/), limited.waitForOutput(/Started flows/)]);
  });
  after(async () => {
    await Promise.all([unset?.stop(), limited?.stop()]);
    await smtp?.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('refuses every request while MARKETING_WELCOME_SECRET is unset (503), whatever the caller sends', async () => {
    for (const authorization of [null, 'Bearer ', `Bearer ${SECRET}`]) {
      const answer = await postTo(unset, JSON.stringify({ email: 'anna@example.com', firstName: 'Anna' }), authorization);
      assert.deepEqual([answer.status, answer.body.code], [503, 'notConfigured'], String(authorization));
      assert.match(String(answer.body.message), /MARKETING_WELCOME_SECRET/);
    }
    assert.equal(smtp.accepted.length, 0);
  });

  it('lets MARKETING_WELCOME_PER_MINUTE requests a minute through, all callers together, and answers the others 429 with Retry-After', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postTo(limited, JSON.stringify({ email: `signup${i}@example.com`, firstName: 'Anna' }), `Bearer ${SECRET}`)),
    );
    const sent = answers.filter((answer) => answer.status === 200);
    const limitedAnswers = answers.filter((answer) => answer.status === 429);
    assert.equal(sent.length, 3, JSON.stringify(answers.map((answer) => answer.status)));
    assert.equal(limitedAnswers.length, 7);
    for (const answer of limitedAnswers) {
      assert.equal(answer.body.code, 'rateLimited');
      assert.ok(Number(answer.retryAfter) >= 1 && Number(answer.retryAfter) <= 60, String(answer.retryAfter));
    }
    await smtp.waitForAccepted(3);
    // Bad input counts too, and a wrong secret gets 401, not a hint about the limit.
    assert.equal((await postTo(limited, 'hello', `Bearer ${SECRET}`, 'text/plain')).status, 429);
    assert.equal((await postTo(limited, 'hello', 'Bearer wrong', 'text/plain')).status, 401);
    assert.equal(smtp.accepted.length, 3);
  });
});
