import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { helper, startServer, stopServer, waitUntil } from '../support/red';
import { deploySendEmail, makeUserDir, removeUserDir, type SendEmailHarness } from '../support/send-email-flow';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';
import { verifyUnsubscribeToken } from '../../lib/consent/token';

const SECRET = 'a random secret of 32 characters';

describe('marketing-send-email: composing', function () {
  let server: TestSmtpServer;
  let harness: SendEmailHarness | undefined;

  before(startServer);
  after(stopServer);
  beforeEach(async () => {
    server = await startTestSmtpServer();
  });
  afterEach(async () => {
    await helper.unload();
    await server.close();
    if (harness) removeUserDir(harness.userDir);
    harness = undefined;
  });

  const smtp = () => ({ port: server.port });

  it('sends text and HTML as multipart/alternative, escaping values in the HTML part only', async () => {
    harness = await deploySendEmail({
      subject: 'Offers for {{contact.company}}',
      text: 'Dear {{contact.company}},\n{{payload}}',
      html: '<p>Dear {{contact.company}},</p><p>{{payload}}</p>',
      replyTo: 'help@shop.example',
    }, smtp());
    await harness.run([{ contact: { email: 'Ann@Example.com', name: 'Ann Lee', company: 'Smith & <Sons>' }, payload: 'Tom & Jerry say <hi>' }]);

    assert.equal(harness.sent.length, 1);
    const { email } = harness.sent[0];
    assert.equal(email.status, 'sent');
    assert.equal(email.attempts, 1);
    assert.equal(email.to, 'ann@example.com');
    assert.match(String(email.response), /^250 /);
    assert.deepEqual(email.accepted, ['Ann@example.com'], 'nodemailer writes domains in lower case');
    assert.deepEqual(email.rejected, []);

    assert.equal(server.accepted.length, 1);
    assert.deepEqual(server.accepted[0].to, ['ann@example.com']);
    assert.equal(server.accepted[0].from, 'news@shop.example');
    const parsed = await server.parse(0);
    assert.equal(parsed.subject, 'Offers for Smith & <Sons>');
    assert.deepEqual(parsed.from?.value, [{ address: 'news@shop.example', name: 'Shop News' }]);
    assert.deepEqual(parsed.to && !Array.isArray(parsed.to) && parsed.to.value, [{ address: 'Ann@example.com', name: 'Ann Lee' }]);
    assert.deepEqual(parsed.replyTo?.value, [{ address: 'help@shop.example', name: '' }]);
    assert.match(String(parsed.headers.get('content-type') && (parsed.headers.get('content-type') as { value: string }).value), /multipart\/alternative/);
    assert.equal(parsed.text?.trim(), 'Dear Smith & <Sons>,\nTom & Jerry say <hi>');
    assert.equal(parsed.html, '<p>Dear Smith &amp; &lt;Sons&gt;,</p><p>Tom &amp; Jerry say &lt;hi&gt;</p>');
    assert.equal(parsed.messageId, email.messageId);
  });

  it('carries UTF-8 subjects, names and bodies, Chinese included', async () => {
    harness = await deploySendEmail({ fromName: '商店资讯 Ünïcødé', subject: '{{contact.firstName}}，春季新品到了 🌸', html: '<p>{{payload}}</p>' }, smtp());
    await harness.run([{ contact: { email: 'li@example.cn', firstName: '李雷', name: '李雷' }, payload: '您好！我们为您准备了专属优惠：满 ¥200 减 ¥30。' }]);
    const parsed = await server.parse(0);
    assert.equal(parsed.subject, '李雷，春季新品到了 🌸');
    assert.equal(parsed.from?.value[0].name, '商店资讯 Ünïcødé');
    assert.equal(parsed.to && !Array.isArray(parsed.to) && parsed.to.value[0].name, '李雷');
    assert.equal(parsed.text?.trim(), '您好！我们为您准备了专属优惠：满 ¥200 减 ¥30。');
    assert.equal(parsed.html, '<p>您好！我们为您准备了专属优惠：满 ¥200 减 ¥30。</p>');
  });

  it('adds List-Unsubscribe and one-click unsubscribe headers, and offers the URL to the templates', async () => {
    harness = await deploySendEmail({
      unsubscribeUrl: 'https://shop.example/unsubscribe?e={{contact.email}}&c={{campaign}}',
      text: '{{payload}}\n\nUnsubscribe: {{unsubscribeUrl}}',
    }, smtp());
    await harness.run([{ contact: { email: 'o.brien+news@example.com' }, payload: 'Hi' }]);
    const parsed = await server.parse(0);
    const url = 'https://shop.example/unsubscribe?e=o.brien%2Bnews%40example.com&c=spring';
    assert.equal(readHeader(server.accepted[0].raw, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');
    assert.deepEqual((parsed.headers.get('list') as { unsubscribe: { url: string } }).unsubscribe.url, url);
    assert.match(readHeader(server.accepted[0].raw, 'List-Unsubscribe'), new RegExp(`^<${escapeRegExp(url)}>$`));
    assert.equal(parsed.text?.trim(), `Hi\n\nUnsubscribe: ${url}`);
  });

  it('signs the unsubscribe token with the server configuration\'s secret: address, campaign and list', async () => {
    harness = await deploySendEmail({
      unsubscribeUrl: 'https://shop.example/unsubscribe?token={{unsubscribeToken}}',
      text: '{{payload}}\n\nUnsubscribe: {{unsubscribeUrl}}',
      list: 'newsletter',
    }, smtp(), { unsubscribeSecret: SECRET });
    await harness.run([{ contact: { email: 'Ann@Example.com' }, payload: 'Hi' }, { contact: { email: 'bob@example.com' }, payload: 'Hi', campaign: 'autumn' }]);
    assert.equal(harness.sent.length, 2);
    const tokens = [];
    for (let i = 0; i < 2; i++) {
      const url = readHeader(server.accepted[i].raw, 'List-Unsubscribe').replace(/^<|>$/g, '');
      assert.match(url, /^https:\/\/shop\.example\/unsubscribe\?token=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
      const parsed = await server.parse(i);
      assert.ok(parsed.text?.includes(url), 'the same URL in the body');
      tokens.push(new URL(url).searchParams.get('token'));
    }
    const byAddress = new Map(tokens.map((token) => {
      const verdict = verifyUnsubscribeToken(token, { current: SECRET, graceDays: 90 });
      assert.ok(verdict.valid);
      return [verdict.claims.email, verdict.claims] as const;
    }));
    assert.equal(byAddress.get('ann@example.com')?.campaign, 'spring');
    assert.equal(byAddress.get('ann@example.com')?.list, 'newsletter');
    assert.equal(byAddress.get('bob@example.com')?.campaign, 'autumn');
    assert.deepEqual(verifyUnsubscribeToken(tokens[0], { current: 'another secret, 16+ chars', graceDays: 90 }), { valid: false, reason: 'forged' });
  });

  it('refuses at deploy templates that use {{unsubscribeToken}} without a secret, and sends nothing', async () => {
    harness = await deploySendEmail({ unsubscribeUrl: 'https://shop.example/u?t={{unsubscribeToken}}' }, smtp());
    await harness.run([{ contact: { email: 'ann@example.com' } }]);
    assert.equal(harness.notSent[0].email.reason, 'noUnsubscribeSecret');
    assert.equal(server.accepted.length, 0);
  });

  it('skips opted-out contacts (the segment node rule) without any connection', async () => {
    harness = await deploySendEmail({}, smtp());
    await harness.run([
      { contact: { email: 'a@example.com', unsubscribed: true } },
      { contact: { email: 'b@example.com', unsubscribed: 'yes' } },
      { contact: { email: 'c@example.com', consent: { optOut: 1 } } },
    ]);
    assert.deepEqual(harness.notSent.map((msg) => [msg.email.status, msg.email.reason, msg.email.to]), [
      ['skipped', 'optedOut', 'a@example.com'],
      ['skipped', 'optedOut', 'b@example.com'],
    ]);
    assert.equal(harness.sent.length, 1, 'consent.optOut is not the configured field');
    assert.equal(harness.caught.length, 0, 'skipping is not an error');
    assert.equal(server.receivedCount('a@example.com') + server.receivedCount('b@example.com'), 0);
  });

  it('honours a configured opt-out field', async () => {
    harness = await deploySendEmail({ optOutField: 'consent.optOut' }, smtp());
    await harness.run([{ contact: { email: 'c@example.com', consent: { optOut: 1 } } }]);
    assert.equal(harness.notSent[0].email.reason, 'optedOut');
  });

  it('never sends a campaign twice to an address; msg.campaign starts another campaign', async () => {
    harness = await deploySendEmail({}, smtp());
    const list = [{ contact: { email: 'ann@example.com' } }, { contact: { email: 'bob@example.com' } }];
    await harness.run(list);
    await harness.run([...list, { contact: { email: ' ANN@example.com ' } }]);
    await harness.run([{ contact: { email: 'ann@example.com' }, campaign: 'autumn' }]);

    assert.deepEqual(harness.sent.map((msg) => [msg.email.campaign, msg.email.to]), [
      ['spring', 'ann@example.com'], ['spring', 'bob@example.com'], ['autumn', 'ann@example.com'],
    ]);
    assert.deepEqual(harness.notSent.map((msg) => [msg.email.status, msg.email.reason]), [
      ['duplicate', 'alreadySent'], ['duplicate', 'alreadySent'], ['duplicate', 'alreadySent'],
    ]);
    assert.equal((harness.notSent[0].email.previous as { state: string }).state, 'sent');
    assert.equal(server.receivedCount('ann@example.com'), 2);
    assert.equal(server.receivedCount('bob@example.com'), 1);
  });

  it('sends the same address twice at once only once', async () => {
    harness = await deploySendEmail({}, smtp());
    await harness.run([{ contact: { email: 'ann@example.com' } }, { to: 'ann@example.com' }]);
    assert.equal(harness.sent.length, 1);
    assert.deepEqual([harness.notSent[0].email.status, harness.notSent[0].email.reason], ['duplicate', 'inFlight']);
    assert.equal(server.receivedCount('ann@example.com'), 1);
  });

  it('refuses bad input with a clear error before any connection, and keeps working', async () => {
    harness = await deploySendEmail({ subject: '{{contact.subject|Hello}}', html: '<p>{{payload}}</p>' }, smtp());
    const bad: Array<[Record<string, unknown>, string]> = [
      [{ payload: 'no recipient' }, 'noRecipient'],
      [{ contact: { firstName: 'Ann' } }, 'noRecipient'],
      [{ contact: { email: 'ann@@example.com' } }, 'invalidAddress'],
      [{ to: 'ann@example.com\r\nBcc: victim@example.com' }, 'invalidAddress'],
      [{ contact: { email: 'ann@example.com', name: 'Ann\r\nBcc: victim@example.com' } }, 'headerInjection'],
      [{ contact: 'ann@example.com' }, 'invalidContact'],
      [{ contact: 42 }, 'invalidContact'],
      [{ contact: { email: 'big@example.com' }, payload: 'x'.repeat(10 * 1024 * 1024) }, 'tooLarge'],
    ];
    await harness.run(bad.map(([msg]) => msg));
    assert.deepEqual(harness.notSent.map((msg) => [msg.email.status, msg.email.reason]), bad.map(([, code]) => ['failed', code]));
    assert.deepEqual(harness.caught.map((msg) => msg.error?.code), bad.map(([, code]) => code), 'a Catch node sees each failure once');
    assert.match(String(harness.caught[2].error?.message), /send-email\.errors\.invalidAddress$/);
    assert.equal(harness.caught[4].error?.code, 'headerInjection', 'a line break in the recipient name');
    assert.equal(server.accepted.length, 0);

    await harness.run([{ contact: { email: 'ann@example.com' }, payload: 'still working' }]);
    assert.equal(harness.sent.length, 1);
    assert.equal(server.receivedCount('ann@example.com'), 1);
    assert.equal(server.receivedCount('victim@example.com'), 0);
  });

  it('keeps the subject on one line when a value carries CR/LF, so no header can be injected', async () => {
    harness = await deploySendEmail({ subject: '{{contact.subject}}' }, smtp());
    await harness.run([{ contact: { email: 'ann@example.com', subject: 'Hi\r\nBcc: victim@example.com' } }]);
    assert.equal(harness.sent.length, 1);
    const parsed = await server.parse(0);
    assert.equal(parsed.subject, 'Hi Bcc: victim@example.com');
    assert.equal(parsed.bcc, undefined);
    assert.deepEqual(server.accepted[0].to, ['ann@example.com']);
    assert.equal(server.receivedCount('victim@example.com'), 0);
  });

  it('folds or encodes long header values: no line over 78 characters, and none over 998 ever', async () => {
    const longWord = 'x'.repeat(995);
    const spaced = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ').slice(0, 995).trim();
    const spacedName = Array.from({ length: 40 }, (_, i) => `Name${i}`).join(' ').slice(0, 200).trim();
    const fromName = Array.from({ length: 40 }, () => 'Shop News').join(' ').slice(0, 200).trim();
    harness = await deploySendEmail({ subject: 'Hi {{contact.firstName}}', fromName }, smtp());
    const contacts = [
      { email: 'a@example.com', firstName: longWord, name: 'Ann Lee' },
      { email: 'b@example.com', firstName: spaced, name: spacedName },
      { email: 'c@example.com', firstName: '春'.repeat(995), name: '李'.repeat(200) },
      { email: 'd@example.com', firstName: 'Dan', name: 'D'.repeat(200) },
    ];
    await harness.run(contacts.map((contact) => ({ contact })));
    assert.equal(harness.sent.length, contacts.length);
    for (let i = 0; i < contacts.length; i++) {
      const { raw, to } = server.accepted[i];
      const contact = contacts.find((c) => c.email === to[0]);
      assert.ok(contact, to[0]);
      const lines = raw.toString('utf8').split('\r\n');
      const long = lines.filter((line) => line.length > 78);
      if (contact.email === 'd@example.com') {
        // nodemailer keeps an ASCII name without spaces as one word: one line, capped far below 998
        assert.equal(long.length, 1);
        assert.ok(long[0].includes('D'.repeat(200)) && long[0].length <= 210, long[0]);
      } else {
        assert.deepEqual(long, [], `lines over 78 characters for ${to[0]}`);
      }
      const parsed = await server.parse(i);
      assert.equal(parsed.subject, `Hi ${contact.firstName}`);
      assert.deepEqual(parsed.to && !Array.isArray(parsed.to) && parsed.to.value, [{ address: to[0], name: contact.name }]);
      assert.deepEqual(parsed.from?.value, [{ address: 'news@shop.example', name: fromName }]);
    }
  });

  it('refuses header values over the documented limit with a clear error, and sends nothing', async () => {
    harness = await deploySendEmail({ subject: 'Hi {{contact.firstName}}', unsubscribeUrl: 'https://shop.example/u?t={{contact.token}}' }, smtp());
    const tooLong = [
      { contact: { email: 'a@example.com', firstName: 'x'.repeat(5000) } },
      { contact: { email: 'b@example.com', firstName: 'x'.repeat(1_500_000) } },
      { contact: { email: 'c@example.com', name: 'n'.repeat(5000) } },
      { contact: { email: 'd@example.com', token: 't'.repeat(1000) } },
    ];
    await harness.run(tooLong);
    assert.deepEqual(harness.notSent.map((msg) => [msg.email.reason, msg.email.to]), tooLong.map(() => ['headerTooLong', undefined]));
    assert.deepEqual(harness.caught.map((msg) => msg.error?.code), tooLong.map(() => 'headerTooLong'));
    assert.equal(server.accepted.length, 0);
  });

  it('resolves flow, global and env values in the templates, as the core Template node does', async () => {
    harness = await deploySendEmail({ subject: '{{flow.offer}} at {{env.SHOP}}', text: '{{global.signature}}' }, smtp());
    const node = helper.getNode('send');
    node.context().flow.set('offer', '20% off');
    node.context().global.set('signature', 'The Shop team');
    process.env.SHOP = 'Example Shop';
    try {
      await harness.run([{ contact: { email: 'ann@example.com' } }]);
    } finally {
      delete process.env.SHOP;
    }
    const parsed = await server.parse(0);
    assert.equal(parsed.subject, '20% off at Example Shop');
    assert.equal(parsed.text?.trim(), 'The Shop team');
  });

  it('reports a template error at deploy and fails every message with it', async () => {
    harness = await deploySendEmail({ html: '<p>{{#vip}}Dear VIP</p>' }, smtp());
    const logged = helper.log().args.map(([event]) => event as { type?: string; level?: number; msg?: unknown });
    assert.ok(logged.some((event) => event.type === 'marketing-send-email' && String(event.msg).includes('send-email.errors.templateSyntax')), 'reported at deploy');
    await harness.run([{ contact: { email: 'ann@example.com' } }, { contact: { email: 'bob@example.com' } }]);
    assert.deepEqual(harness.notSent.map((msg) => msg.email.reason), ['templateSyntax', 'templateSyntax']);
    assert.equal(harness.caught.length, 2);
    assert.equal(server.accepted.length, 0);
  });

  it('reports a send ledger it cannot open on every message, sends nothing, and still closes', async () => {
    const userDir = makeUserDir();
    mkdirSync(join(userDir, 'marketing-send-ledger.log')); // a folder where the ledger file belongs
    harness = await deploySendEmail({}, smtp(), undefined, userDir);
    await harness.run([{ contact: { email: 'ann@example.com' } }, { contact: { email: 'bob@example.com' } }]);
    assert.deepEqual(harness.notSent.map((msg) => msg.email.reason), ['ledgerOpen', 'ledgerOpen']);
    assert.equal(harness.caught.length, 2);
    assert.equal(server.accepted.length, 0);
  });

  it('answers a report request with the run counters and the ledger summary', async () => {
    harness = await deploySendEmail({}, smtp());
    await harness.run([
      { contact: { email: 'ann@example.com' } },
      { contact: { email: 'bob@example.com', unsubscribed: true } },
      { contact: { email: 'nope' } },
    ]);
    await harness.run([{ contact: { email: 'ann@example.com' } }]);
    const before = harness.sent.length;
    helper.getNode('send')?.receive({ topic: 'report' } as never);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const report = harness.sent[before].payload as { campaign: string; run: Record<string, number>; ledger: Record<string, unknown> };
    assert.equal(report.campaign, 'spring');
    assert.deepEqual(report.run, { received: 4, sent: 1, skipped: 1, duplicate: 1, failed: 1, pending: 0 });
    assert.equal(report.ledger.sent, 1);
    assert.equal(report.ledger.interrupted, 0);
    assert.equal((harness.sent[before] as { email?: unknown }).email, undefined);
  });

  it('writes to the outbox in the Node-RED user directory when no server is chosen', async () => {
    harness = await deploySendEmail({ html: '<b>{{payload}}</b>' }, null);
    await harness.run([
      { contact: { email: 'ann@example.com', firstName: 'Ann' }, payload: 'one' },
      { contact: { email: 'bob@example.com', firstName: 'Bob' }, payload: 'two' },
    ]);
    assert.equal(harness.sent.length, 2);
    assert.match(String(harness.sent[0].email.response), /^250 written to .*\.eml$/);
    const folder = join(harness.userDir, 'outbox');
    const files = readdirSync(folder).sort();
    assert.equal(files.length, 2);
    const parsed = await Promise.all(files.map((file) => simpleParser(readFileSync(join(folder, file)))));
    assert.deepEqual(parsed.map((mail) => mail.subject).sort(), ['Hello Ann', 'Hello Bob']);
    assert.deepEqual(parsed.map((mail) => mail.html).sort(), ['<b>one</b>', '<b>two</b>']);
    assert.equal(server.accepted.length, 0);
  });

  for (const [where, smtpConfig, folderName, logType] of [
    ['its own outbox', null, 'outbox', 'marketing-send-email'],
    ["a marketing-smtp node's outbox", { transport: 'outbox', outbox: 'box' }, 'box', 'marketing-smtp'],
  ] as const) {
    it(`removes at start the unfinished files a crash left in ${where}, and says so in the log and the report`, async () => {
      const userDir = makeUserDir();
      const folder = join(userDir, folderName);
      mkdirSync(folder);
      const message = 'From: news@shop.example\r\nTo: ann@example.com\r\nSubject: Hello\r\n\r\nHi\r\n';
      // What a crashed earlier process leaves: a message complete but never renamed, one with no bytes yet.
      writeFileSync(join(folder, '2026-01-01T00-00-00.000Z-000001-abcd.eml.tmp'), message);
      writeFileSync(join(folder, '2026-01-01T00-00-00.000Z-000002-abcd.eml.tmp'), '');
      writeFileSync(join(folder, '2026-01-01T00-00-00.000Z-000000-abcd.eml'), message);
      const beforeThisProcess = new Date(performance.timeOrigin - 60_000);
      for (const name of readdirSync(folder)) utimesSync(join(folder, name), beforeThisProcess, beforeThisProcess);
      // A temporary file newer than this process is a write under way, perhaps of another process: left alone.
      writeFileSync(join(folder, 'in-progress.eml.tmp'), 'From: x');

      harness = await deploySendEmail({}, smtpConfig, undefined, userDir);
      await waitUntil(() => readdirSync(folder).length === 2, 5000, 'leftovers removed');
      assert.deepEqual(readdirSync(folder).sort(), ['2026-01-01T00-00-00.000Z-000000-abcd.eml', 'in-progress.eml.tmp']);
      const warnings = () => helper.log().args.map(([event]) => event as { type?: string; msg?: unknown })
        .filter((event) => event.type === logType && String(event.msg).endsWith('.warnings.outboxLeftovers'));
      await waitUntil(() => warnings().length > 0, 2000, 'the warning');

      helper.getNode('send')?.receive({ topic: 'report' } as never);
      await waitUntil(() => harness?.sent.length === 1, 2000, 'the report');
      assert.deepEqual((harness.sent[0].payload as { outboxLeftovers?: unknown }).outboxLeftovers, { empty: 1, unrenamed: 1 });
      await harness.run([{ contact: { email: 'ann@example.com' } }]);
      assert.equal(readdirSync(folder).filter((name) => name.endsWith('.eml')).length, 2);
      assert.equal(warnings().length, 1, 'one warning, at start');
    });
  }
});

function readHeader(raw: Buffer, name: string): string {
  const text = raw.toString('utf8').split('\r\n\r\n')[0].replace(/\r\n[ \t]+/g, ' ');
  const line = text.split('\r\n').find((header) => header.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
