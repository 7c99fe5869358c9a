/**
 * Example 02, "Welcome email on sign-up", in a real Node-RED process (its HTTP In endpoint on
 * a loopback port), loaded from its JSON file with the marketing-smtp node pointed at a real
 * SMTP server on loopback: a good contact is welcomed once, with the bundled demo model, and
 * bad input gets a clear 4xx answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deliverToSmtpServer, readExample } from '../support/examples';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

interface Answer { status: number; body: Record<string, unknown> }

describe('example 02: welcome email on sign-up', function () {
  this.timeout(120_000);
  let userDir: string;
  let smtp: TestSmtpServer;
  let red: RunningNodeRed;

  before(async () => {
    smtp = await startTestSmtpServer();
    userDir = mkdtempSync(join(tmpdir(), 'marketing-example-02-'));
    red = await startNodeRed({
      userDir, linkPackage: true, flows: deliverToSmtpServer(readExample('02 - Welcome email on sign-up'), smtp.port),
    });
    // The flows start after the server listens; the endpoint answers once they run.
    await red.waitForOutput(/Started flows/);
  });
  after(async () => {
    await red?.stop();
    await smtp?.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  async function post(body: string, contentType = 'application/json'): Promise<Answer> {
    const response = await fetch(new URL('welcome', red.url), { method: 'POST', headers: { 'Content-Type': contentType }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('welcomes a new contact with a generated email, in the language of its segment, and says so', async () => {
    const anna = await post(JSON.stringify({ email: 'anna@example.com', firstName: 'Anna', name: 'Anna Becker', city: 'Berlin', language: 'en' }));
    assert.equal(anna.status, 200, JSON.stringify(anna.body));
    assert.equal(anna.body.status, 'sent');
    assert.equal(anna.body.to, 'anna@example.com');
    assert.equal(anna.body.segment, 'english');
    assert.ok(String(anna.body.text).length > 20);
    const li = await post(JSON.stringify({ email: 'li.na@example.cn', firstName: '李娜', name: '李娜', city: '上海', language: 'zh' }));
    assert.equal(li.status, 200, JSON.stringify(li.body));
    assert.equal(li.body.segment, 'chinese');
    assert.match(String(li.body.text), /[\u4e00-\u9fff]/);

    await smtp.waitForAccepted(2);
    const mail = await smtp.parse(0);
    assert.equal(mail.subject, 'Welcome to Example Shop, Anna!');
    assert.deepEqual((mail.to as { value: unknown[] }).value, [{ address: 'anna@example.com', name: 'Anna Becker' }]);
    assert.equal(mail.messageId, anna.body.messageId);
    assert.ok(String(mail.text).startsWith(String(anna.body.text)), 'the email carries the generated text');
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
});
