import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireSendLedger, decodeLedgerLine, encodeLedgerLine, SendLedger } from '../../lib/email/ledger';

describe('lib/email/ledger', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    path = join(dir, 'sub', 'ledger.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const at = '2026-01-02T03:04:05.000Z';

  it('encodes records as checksummed lines and refuses damaged ones', () => {
    const line = encodeLedgerLine({ campaign: 'spring', to: 'ann@example.com', state: 'sent', at, messageId: '<a@b>' });
    assert.match(line, /^[0-9a-f]{8} \{.*\}\n$/);
    const body = Buffer.from(line.slice(0, -1));
    assert.deepEqual(decodeLedgerLine(body), { campaign: 'spring', to: 'ann@example.com', state: 'sent', at, messageId: '<a@b>' });
    assert.equal(decodeLedgerLine(body.subarray(0, body.length - 3)), undefined, 'torn');
    const flipped = Buffer.from(body);
    flipped[20] ^= 1;
    assert.equal(decodeLedgerLine(flipped), undefined, 'bit flip');
    assert.equal(decodeLedgerLine(Buffer.alloc(40)), undefined, 'zeros');
  });

  it('keeps what was appended across a reopen, latest record per recipient', async () => {
    const ledger = await SendLedger.open(path);
    await Promise.all([
      ledger.append({ campaign: 'spring', to: 'ann@example.com', state: 'attempt', at }),
      ledger.append({ campaign: 'spring', to: 'bob@example.com', state: 'attempt', at }),
    ]);
    await ledger.append({ campaign: 'spring', to: 'ann@example.com', state: 'sent', at, messageId: '<1@x>', response: '250 ok', attempts: 2 });
    await ledger.close();

    const reopened = await SendLedger.open(path);
    assert.deepEqual(reopened.lookup('spring', 'ann@example.com'), { state: 'sent', at, messageId: '<1@x>', response: '250 ok', attempts: 2 });
    assert.equal(reopened.lookup('spring', 'bob@example.com')?.state, 'attempt');
    assert.equal(reopened.lookup('autumn', 'ann@example.com'), undefined);
    await reopened.close();
  });

  it('ignores a torn last line, cuts it off, and appends cleanly after it', async () => {
    const ledger = await SendLedger.open(path);
    await ledger.append({ campaign: 'c', to: 'ann@example.com', state: 'sent', at });
    await ledger.close();
    const whole = readFileSync(path);
    const torn = encodeLedgerLine({ campaign: 'c', to: 'bob@example.com', state: 'sent', at });
    appendFileSync(path, torn.slice(0, 25)); // a crash in the middle of a write

    const reopened = await SendLedger.open(path);
    assert.equal(reopened.lookup('c', 'bob@example.com'), undefined);
    assert.equal(reopened.corruptLines, 0);
    assert.deepEqual(readFileSync(path), whole, 'the torn tail is cut off');
    await reopened.append({ campaign: 'c', to: 'cid@example.com', state: 'sent', at });
    await reopened.close();

    const again = await SendLedger.open(path);
    assert.equal(again.lookup('c', 'ann@example.com')?.state, 'sent');
    assert.equal(again.lookup('c', 'cid@example.com')?.state, 'sent');
    await again.close();
  });

  it('skips a damaged line in the middle and counts it', async () => {
    writeFileSync(path.replace('sub/', ''), [
      encodeLedgerLine({ campaign: 'c', to: 'ann@example.com', state: 'sent', at }),
      '00000000 {"campaign":"c","to":"bob@example.com","state":"sent"}\n',
      `${'\u0000'.repeat(30)}\n`,
      encodeLedgerLine({ campaign: 'c', to: 'cid@example.com', state: 'failed', at, reason: 'rejected' }),
    ].join(''));
    const ledger = await SendLedger.open(path.replace('sub/', ''));
    assert.equal(ledger.corruptLines, 2);
    assert.equal(ledger.lookup('c', 'ann@example.com')?.state, 'sent');
    assert.equal(ledger.lookup('c', 'bob@example.com'), undefined);
    assert.equal(ledger.lookup('c', 'cid@example.com')?.reason, 'rejected');
    await ledger.close();
  });

  it('decides per key: sent is a duplicate, an interrupted attempt blocks unless resending, failed may go again', async () => {
    const ledger = await SendLedger.open(path);
    await ledger.append({ campaign: 'c', to: 'sent@example.com', state: 'sent', at });
    await ledger.append({ campaign: 'c', to: 'cut@example.com', state: 'attempt', at });
    await ledger.append({ campaign: 'c', to: 'failed@example.com', state: 'failed', at });

    assert.deepEqual(ledger.reserve('c', 'sent@example.com', true), { send: false, reason: 'alreadySent', entry: { state: 'sent', at } });
    assert.equal((ledger.reserve('c', 'cut@example.com', false) as { reason: string }).reason, 'interrupted');
    assert.deepEqual(ledger.reserve('c', 'cut@example.com', true), { send: true });
    assert.deepEqual(ledger.reserve('c', 'failed@example.com', false), { send: true });
    assert.deepEqual(ledger.reserve('c', 'new@example.com', false), { send: true });
    assert.deepEqual(ledger.reserve('c', 'new@example.com', false), { send: false, reason: 'inFlight' }, 'claimed');
    assert.deepEqual(ledger.reserve('other', 'new@example.com', false), { send: true }, 'another campaign');
    ledger.releaseClaim('c', 'new@example.com');
    assert.deepEqual(ledger.reserve('c', 'new@example.com', false), { send: true });
    await ledger.close();
  });

  it('summarises a campaign', async () => {
    const ledger = await SendLedger.open(path);
    await ledger.append({ campaign: 'c', to: 'a@example.com', state: 'sent', at: '2026-01-02T00:00:00.000Z' });
    await ledger.append({ campaign: 'c', to: 'b@example.com', state: 'sent', at: '2026-01-01T00:00:00.000Z' });
    await ledger.append({ campaign: 'c', to: 'c@example.com', state: 'failed', at });
    await ledger.append({ campaign: 'c', to: 'd@example.com', state: 'attempt', at });
    await ledger.append({ campaign: 'other', to: 'e@example.com', state: 'sent', at });
    assert.deepEqual(ledger.summarise('c'), {
      sent: 2, failed: 1, interrupted: 1, inFlight: 0,
      firstSentAt: '2026-01-01T00:00:00.000Z', lastSentAt: '2026-01-02T00:00:00.000Z',
      interruptedRecipients: ['d@example.com'],
    });
    await ledger.close();
  });

  it('batches concurrent appends into few writes and has them all on disk when they resolve', async () => {
    const ledger = await SendLedger.open(path);
    const appends = [];
    for (let i = 0; i < 5000; i++) appends.push(ledger.append({ campaign: 'c', to: `u${i}@example.com`, state: 'attempt', at }));
    await Promise.all(appends);
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 5000);
    await ledger.close();
  });

  it('compacts a file that is mostly superseded records when it is opened', async () => {
    const ledger = await SendLedger.open(path);
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 600 }, (_, i) => ledger.append({ campaign: 'c', to: `u${i}@example.com`, state: round < 2 ? 'attempt' : 'sent', at })));
    }
    await ledger.close();
    assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 1800);
    const reopened = await SendLedger.open(path);
    assert.equal(readFileSync(path, 'utf8').split('\n').filter(Boolean).length, 600);
    assert.equal(reopened.summarise('c').sent, 600);
    await reopened.close();
  });

  it('shares one ledger per file between users and closes it with the last one', async () => {
    const first = acquireSendLedger(path);
    const second = acquireSendLedger(path);
    const ledger = await first.ledger;
    assert.equal(await second.ledger, ledger);
    assert.deepEqual(ledger.reserve('c', 'a@example.com', false), { send: true });
    assert.deepEqual((await second.ledger).reserve('c', 'a@example.com', false), { send: false, reason: 'inFlight' });
    await ledger.append({ campaign: 'c', to: 'a@example.com', state: 'sent', at });
    await first.release();
    await ledger.append({ campaign: 'c', to: 'b@example.com', state: 'sent', at }); // still open for the second user
    await second.release();
    await assert.rejects(ledger.append({ campaign: 'c', to: 'c@example.com', state: 'sent', at }), { code: 'ledgerWrite' });

    const third = acquireSendLedger(path);
    const reopened = await third.ledger;
    assert.notEqual(reopened, ledger);
    assert.equal(reopened.lookup('c', 'b@example.com')?.state, 'sent');
    await third.release();
  });

  it('reports a ledger that cannot be opened', async () => {
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(SendLedger.open(join(dir, 'file', 'ledger.log')), { code: 'ledgerOpen' });
  });
});
