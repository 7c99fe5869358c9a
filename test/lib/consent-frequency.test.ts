import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { frequencyCapOf, isCapped, sentWithin } from '../../lib/consent/frequency';
import { SendLedger } from '../../lib/email/ledger';
import { isMarketingError } from '../../lib/errors';

describe('lib/consent/frequency', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'frequency-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const now = Date.parse('2026-12-07T12:00:00Z');
  const daysAgo = (days: number) => new Date(now - days * 24 * 60 * 60 * 1000).toISOString();

  it('counts the sent records of other campaigns within the window', async () => {
    const ledger = await SendLedger.open(join(dir, 'ledger.log'));
    await ledger.append({ campaign: 'a', to: 'ann@example.com', state: 'sent', at: daysAgo(1) });
    await ledger.append({ campaign: 'b', to: 'ann@example.com', state: 'sent', at: daysAgo(6.9) });
    await ledger.append({ campaign: 'c', to: 'ann@example.com', state: 'sent', at: daysAgo(7.1) });
    await ledger.append({ campaign: 'd', to: 'ann@example.com', state: 'failed', at: daysAgo(0) });
    await ledger.append({ campaign: 'e', to: 'ann@example.com', state: 'attempt', at: daysAgo(0) });
    assert.equal(sentWithin(ledger, 'ann@example.com', 7, now), 2);
    assert.equal(sentWithin(ledger, 'ann@example.com', 7, now, 'a'), 1, 'the campaign itself left out');
    assert.equal(sentWithin(ledger, 'ann@example.com', 30, now), 3);
    assert.equal(sentWithin(ledger, 'bob@example.com', 30, now), 0);
    assert.equal(isCapped(ledger, 'ann@example.com', { max: 2, days: 7 }, now, 'f'), true);
    assert.equal(isCapped(ledger, 'ann@example.com', { max: 3, days: 7 }, now, 'f'), false);
    await ledger.close();
  });

  it('reads the settings: empty or 0 is off, 7 days by default, anything else refused', () => {
    assert.equal(frequencyCapOf('', ''), undefined);
    assert.equal(frequencyCapOf(0, 7), undefined);
    assert.deepEqual(frequencyCapOf('2', ''), { max: 2, days: 7 });
    assert.deepEqual(frequencyCapOf(3, '14'), { max: 3, days: 14 });
    for (const [max, days] of [[-1, 7], [1.5, 7], ['x', 7], [2, 0], [2, 'x']]) {
      assert.throws(() => frequencyCapOf(max, days), (err: unknown) => isMarketingError(err) && err.code === 'badFrequencyCap', `${max} ${days}`);
    }
  });
});
