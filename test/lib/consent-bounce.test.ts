import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyBounce, readBounceMessage, readDeliveryStatus } from '../../lib/consent/bounce';

/** DSN samples written by hand from the documented structure of each server's bounces. */
const DSN_DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'dsn');
const sample = (name: string) => readFileSync(join(DSN_DIR, `${name}.eml`));

describe('lib/consent/bounce', () => {
  it('reads a Postfix bounce: user unknown is a hard bounce, with the returned message\'s Message-ID', async () => {
    assert.deepEqual(await readBounceMessage(sample('postfix-user-unknown')), {
      isDeliveryStatus: true,
      originalMessageId: '<abc@shop.example>',
      events: [{
        email: 'nobody@example.com', kind: 'hardBounce', action: 'failed', status: '5.1.1',
        diagnostic: '550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown',
      }],
    });
  });

  it('reads an Exim bounce: a full mailbox is a soft bounce (the address is fine)', async () => {
    const report = await readBounceMessage(sample('exim-mailbox-full'));
    assert.deepEqual(report.events.map(({ email, kind, status }) => [email, kind, status]), [['full@example.org', 'softBounce', '5.2.2']]);
    assert.equal(report.originalMessageId, '<f00d@shop.example>', 'from the returned message/rfc822');
  });

  it('reads an Exchange NDR with two recipients: one not found (hard), one delayed (soft)', async () => {
    const report = await readBounceMessage(sample('exchange-two-recipients'));
    assert.deepEqual(report.events.map(({ email, kind, action, status }) => [email, kind, action, status]), [
      ['gone@contoso.example', 'hardBounce', 'failed', '5.1.10'],
      ['slow@contoso.example', 'softBounce', 'delayed', '4.4.7'],
    ]);
    assert.match(report.events[0].diagnostic, /RecipientNotFound; Recipient not found by SMTP address lookup$/, 'continuation line unfolded');
    assert.equal(report.originalMessageId, '<beef@shop.example>');
  });

  it('reads a Gmail bounce: blocked by policy (5.7.1) is a soft bounce', async () => {
    const report = await readBounceMessage(sample('gmail-blocked'));
    assert.deepEqual(report.events.map(({ email, kind }) => [email, kind]), [['someone@gmail.example', 'softBounce']]);
    assert.equal(report.originalMessageId, '<cafe@shop.example>');
  });

  it('reads the text an e-mail In node gives (the DSN fields after the human part)', () => {
    const text = 'Your message could not be delivered.\n\nReporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; Old@Example.net\nAction: failed\nStatus: 5.0.0\nDiagnostic-Code: smtp; 550 No such user here\n';
    assert.deepEqual(readDeliveryStatus(text).events.map(({ email, kind }) => [email, kind]), [['old@example.net', 'hardBounce']]);
  });

  it('finds nothing in a message that is not a delivery status notification', async () => {
    const report = await readBounceMessage('From: ann@example.com\r\nTo: bounces@shop.example\r\nSubject: Out of office\r\n\r\nI am away until Monday.\r\nAction: failed\r\n');
    assert.deepEqual(report, { isDeliveryStatus: false, events: [] });
  });

  it('classifies by status, then by the diagnostic', () => {
    const cases: Array<[string, string, string, string | undefined]> = [
      ['failed', '5.1.1', '', 'hardBounce'],
      ['failed', '5.1.2', '', 'hardBounce'],
      ['failed', '5.2.1', '', 'hardBounce'],
      ['failed', '5.4.4', '', 'hardBounce'],
      ['failed', '5.2.2', '', 'softBounce'],
      ['failed', '5.3.4', '', 'softBounce'],
      ['failed', '5.7.1', '', 'softBounce'],
      ['failed', '5.0.0', '550 User unknown', 'hardBounce'],
      ['failed', '5.0.0', '554 rejected for policy reasons', 'softBounce'],
      ['failed', '', '550 5.1.1 no such user', 'hardBounce'],
      ['delayed', '4.4.7', '', 'softBounce'],
      ['failed', '4.4.1', '', 'softBounce'],
      ['delivered', '2.0.0', '', undefined],
      ['relayed', '2.0.0', '', undefined],
    ];
    for (const [action, status, diagnostic, kind] of cases) assert.equal(classifyBounce(action, status, diagnostic), kind, `${action} ${status} ${diagnostic}`);
  });
});
