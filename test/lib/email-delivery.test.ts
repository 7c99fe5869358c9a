import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { EmailDelivery, type DeliveryJob } from '../../lib/email/delivery';
import { SendLedger } from '../../lib/email/ledger';
import type { RetryPolicy } from '../../lib/email/retry';
import { createOutboxTransport, createSmtpTransport, outboxFileName, type MailTransport } from '../../lib/email/transport';
import { startTestSmtpServer, type Behaviour, type TestSmtpServer } from '../support/smtp-server';

const fastRetry: RetryPolicy = { maxAttempts: 4, maxElapsedMs: 10_000, baseDelayMs: 5, maxDelayMs: 20 };

function job(to: string, campaign = 'spring'): DeliveryJob {
  return { campaign, to, mail: { from: 'news@shop.example', to, subject: `Hi ${to}`, text: 'Hello' } };
}

describe('lib/email/delivery', () => {
  let dir: string;
  let server: TestSmtpServer | undefined;
  let transport: MailTransport | undefined;
  let ledger: SendLedger | undefined;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'delivery-'));
  });
  afterEach(async () => {
    await transport?.close();
    await ledger?.close();
    await server?.close();
    transport = ledger = server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function setUp(behaviour?: Behaviour, maxConnections = 2): Promise<EmailDelivery> {
    server = await startTestSmtpServer({ behaviour });
    transport = createSmtpTransport({
      host: '127.0.0.1', port: server.port, security: 'none', rejectUnauthorized: true,
      maxConnections, rateLimit: 0, timeoutMs: 2000, closeGraceMs: 2000,
    });
    ledger = await SendLedger.open(join(dir, 'ledger.log'));
    return new EmailDelivery({ transport, ledger, retry: fastRetry, resendInterrupted: false });
  }

  it('sends, records attempt then sent, and refuses the same key again or twice at once', async () => {
    const delivery = await setUp();
    const [first, concurrent] = await Promise.all([delivery.deliver(job('ann@example.com')), delivery.deliver(job('ann@example.com'))]);
    assert.equal(first.status, 'sent');
    assert.deepEqual(concurrent, { status: 'duplicate', reason: 'inFlight', entry: undefined });
    const again = await delivery.deliver(job('ann@example.com'));
    assert.equal(again.status === 'duplicate' && again.reason, 'alreadySent');
    assert.equal((await delivery.deliver(job('ann@example.com', 'autumn'))).status, 'sent', 'another campaign');
    assert.equal(server?.receivedCount('ann@example.com'), 2);

    const lines = readFileSync(join(dir, 'ledger.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line.slice(9)));
    assert.deepEqual(lines.map((record) => [record.campaign, record.state]), [['spring', 'attempt'], ['spring', 'sent'], ['autumn', 'attempt'], ['autumn', 'sent']]);
    assert.equal(lines[1].response.startsWith('250'), true);
    assert.equal(lines[1].attempts, 1);
  });

  it('never sends to a suppressed address: not at hand-over, and not on a retry after it was suppressed', async () => {
    const suppressed = new Set(['bob@example.com']);
    // Carol is greylisted once; she unsubscribes while her retry waits.
    server = await startTestSmtpServer({
      behaviour: {
        onRcpt: (to, offer) => {
          if (to !== 'carol@example.com' || offer > 1) return undefined;
          suppressed.add('carol@example.com');
          return { code: 451, message: 'Greylisted, try later' };
        },
      },
    });
    transport = createSmtpTransport({
      host: '127.0.0.1', port: server.port, security: 'none', rejectUnauthorized: true, maxConnections: 1, rateLimit: 0, timeoutMs: 2000, closeGraceMs: 2000,
    });
    ledger = await SendLedger.open(join(dir, 'ledger.log'));
    const delivery = new EmailDelivery({ transport, ledger, retry: fastRetry, resendInterrupted: false, isSuppressed: (to) => suppressed.has(to) });
    const [ann, bob, carol] = await Promise.all(['ann@example.com', 'bob@example.com', 'carol@example.com'].map((to) => delivery.deliver(job(to))));
    assert.equal(ann.status, 'sent');
    assert.deepEqual(bob, { status: 'suppressed', attempts: 0 });
    assert.deepEqual(carol, { status: 'suppressed', attempts: 1 });
    assert.equal(server.receivedCount('carol@example.com'), 0);
    assert.equal(ledger.lookup('spring', 'bob@example.com'), undefined, 'nothing recorded for a message never attempted');
    assert.deepEqual([ledger.lookup('spring', 'carol@example.com')?.state, ledger.lookup('spring', 'carol@example.com')?.reason], ['failed', 'suppressed']);
  });

  it('retries deferrals with backoff and reports the attempts', async () => {
    const delivery = await setUp({ onRcpt: (_to, offer) => (offer <= 2 ? { code: 451, message: 'Greylisted, try later' } : undefined) });
    const outcome = await delivery.deliver(job('grey@example.com'));
    assert.equal(outcome.status, 'sent');
    assert.equal(outcome.status === 'sent' && outcome.attempts, 3);
    assert.equal(server?.receivedCount('grey@example.com'), 1);
  });

  it('does not retry a permanent refusal, and gives up on deferrals after the attempt count', async () => {
    const delivery = await setUp({
      onRcpt: (to) => (to.startsWith('gone') ? { code: 550, message: 'No such user' } : to.startsWith('busy') ? { code: 451, message: 'Busy' } : undefined),
    });
    const gone = await delivery.deliver(job('gone@example.com'));
    assert.equal(gone.status === 'failed' && gone.error.code, 'rejected');
    assert.equal(gone.status === 'failed' && gone.attempts, 1);
    const busy = await delivery.deliver(job('busy@example.com'));
    assert.equal(busy.status === 'failed' && busy.error.code, 'retriesExhausted');
    assert.equal(busy.status === 'failed' && busy.attempts, 4);
    assert.equal(ledger?.lookup('spring', 'gone@example.com')?.state, 'failed');
    assert.equal(ledger?.lookup('spring', 'busy@example.com')?.reason, 'retriesExhausted');
    assert.equal((await delivery.deliver(job('gone@example.com'))).status, 'failed', 'a failed key may be tried again');
  });

  it('on close gives up queued messages unrecorded and waits for those on the wire', async () => {
    const delivery = await setUp({ onData: (_to, _offer, stage) => (stage === 'end' ? { stallMs: 300 } : undefined) }, 1);
    const outcomes = Promise.all(Array.from({ length: 10 }, (_, i) => delivery.deliver(job(`u${i}@example.com`))));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await delivery.close();
    const results = await outcomes;
    const sent = results.filter((outcome) => outcome.status === 'sent').length;
    const stopped = results.filter((outcome) => outcome.status === 'failed' && outcome.error.code === 'stopped').length;
    assert.equal(sent + stopped, 10);
    assert.ok(sent >= 1 && sent <= 2, `sent ${sent}: the ones on the wire finished`);
    assert.equal(server?.accepted.length, sent);
    for (let i = 0; i < 10; i++) {
      const entry = ledger?.lookup('spring', `u${i}@example.com`);
      assert.notEqual(entry?.state, 'attempt', 'every attempt has its outcome');
      if (entry?.state === 'sent') assert.equal(server?.receivedCount(`u${i}@example.com`), 1);
    }
    assert.equal((await delivery.deliver(job('late@example.com'))).status, 'failed');
  });

  it('does not resend an interrupted attempt unless told to', async () => {
    await setUp();
    await ledger?.append({ campaign: 'spring', to: 'cut@example.com', state: 'attempt', at: new Date().toISOString() });
    const cautious = new EmailDelivery({ transport: transport as MailTransport, ledger, retry: fastRetry, resendInterrupted: false });
    const skipped = await cautious.deliver(job('cut@example.com'));
    assert.equal(skipped.status === 'duplicate' && skipped.reason, 'interrupted');
    const resending = new EmailDelivery({ transport: transport as MailTransport, ledger, retry: fastRetry, resendInterrupted: true });
    assert.equal((await resending.deliver(job('cut@example.com'))).status, 'sent');
    assert.equal(server?.receivedCount('cut@example.com'), 1);
  });

  it('sends without de-duplication when there is no ledger', async () => {
    await setUp();
    const delivery = new EmailDelivery({ transport: transport as MailTransport, retry: fastRetry, resendInterrupted: false });
    await delivery.deliver(job('twice@example.com'));
    await delivery.deliver(job('twice@example.com'));
    assert.equal(server?.receivedCount('twice@example.com'), 2);
  });

  it('the outbox writes parseable .eml files whose names sort by time', async () => {
    const folder = join(dir, 'outbox');
    transport = createOutboxTransport(folder);
    const delivery = new EmailDelivery({ transport, retry: fastRetry, resendInterrupted: false });
    for (let i = 0; i < 3; i++) {
      const outcome = await delivery.deliver({
        campaign: 'c', to: `u${i}@example.com`,
        mail: { from: 'news@shop.example', to: `u${i}@example.com`, subject: `Nº ${i} 你好`, text: `Body ${i}`, html: `<b>${i}</b>` },
      });
      assert.equal(outcome.status, 'sent');
    }
    const files = readdirSync(folder);
    assert.equal(files.length, 3);
    assert.ok(files.every((file) => file.endsWith('.eml')));
    for (const [i, file] of [...files].sort().entries()) {
      const raw = readFileSync(join(folder, file));
      assert.ok(raw.includes('\r\n') && !/[^\r]\n/.test(raw.toString('latin1')), 'CRLF line ends');
      const parsed = await simpleParser(raw);
      assert.equal(parsed.subject, `Nº ${i} 你好`);
      assert.equal(parsed.text?.trim(), `Body ${i}`);
      assert.equal(parsed.html, `<b>${i}</b>`);
    }
    assert.ok(outboxFileName(new Date(Date.UTC(2026, 0, 1, 9)), 2, 'ab') < outboxFileName(new Date(Date.UTC(2026, 0, 1, 10)), 1, 'ab'));
    assert.ok(outboxFileName(new Date(Date.UTC(2026, 0, 1, 9)), 2, 'ab') < outboxFileName(new Date(Date.UTC(2026, 0, 1, 9)), 10, 'ab'));
  });
});
