import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acquireSuppressionList, decodeSuppressionLine, encodeSuppressionLine, SuppressionList,
} from '../../lib/consent/suppression';
import { isMarketingError } from '../../lib/errors';

describe('lib/consent/suppression', () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'suppression-'));
    path = join(dir, 'sub', 'suppression.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const now = new Date('2026-12-07T12:00:00.000Z');

  it('encodes records as checksummed lines and refuses damaged ones', () => {
    const record = { email: 'ann@example.com', reason: 'unsubscribe' as const, at: now.toISOString(), campaign: 'spring', list: 'newsletter' };
    const line = encodeSuppressionLine(record);
    assert.match(line, /^[0-9a-f]{8} \{.*\}\n$/);
    const body = Buffer.from(line.slice(0, -1));
    assert.deepEqual(decodeSuppressionLine(body), record);
    assert.equal(decodeSuppressionLine(body.subarray(0, body.length - 2)), undefined, 'torn');
    const flipped = Buffer.from(body);
    flipped[30] ^= 1;
    assert.equal(decodeSuppressionLine(flipped), undefined, 'bit flip');
  });

  it('suppresses at once, keeps every reason and campaign across a reopen, and writes an address once', async () => {
    const list = await SuppressionList.open(path);
    const first = list.suppress({ email: ' Ann@Example.com ', reason: 'unsubscribe', campaign: 'spring', list: 'newsletter' }, now);
    assert.ok(list.has('ann@example.com'), 'effective before it is on disk');
    const outcomes = await Promise.all([
      first,
      list.suppress({ email: 'bob@example.com', reason: 'hardBounce', campaign: 'spring' }, now),
      list.suppress({ email: 'cy@example.com', reason: 'complaint', campaign: 'autumn' }, now),
      list.suppress({ email: 'di@example.com', reason: 'manual' }, now),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.added), [true, true, true, true]);
    const again = await list.suppress({ email: 'ANN@example.com', reason: 'complaint', campaign: 'autumn' }, new Date());
    assert.deepEqual(again, { added: false, record: { email: 'ann@example.com', reason: 'unsubscribe', at: now.toISOString(), campaign: 'spring', list: 'newsletter' } });
    await list.close();
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 4, 'one line per address');

    const reopened = await SuppressionList.open(path);
    assert.equal(reopened.size, 4);
    assert.deepEqual(reopened.lookup('Ann@example.com'), { email: 'ann@example.com', reason: 'unsubscribe', at: now.toISOString(), campaign: 'spring', list: 'newsletter' });
    assert.deepEqual(reopened.lookup('di@example.com'), { email: 'di@example.com', reason: 'manual', at: now.toISOString(), campaign: '', list: '' });
    assert.deepEqual(reopened.summarise(), { unsubscribe: 1, hardBounce: 1, softBounce: 0, complaint: 1, manual: 1 });
    assert.equal(reopened.has('eve@example.com'), false);
    await reopened.close();
  });

  it('counts soft bounces across a reopen and suppresses at the limit, reason softBounce', async () => {
    const list = await SuppressionList.open(path);
    assert.deepEqual(await list.softBounce({ email: 'Kim@Example.com', campaign: 'spring' }, 3, now), { count: 1 });
    assert.deepEqual(await list.softBounce({ email: 'kim@example.com', campaign: 'summer' }, 3, now), { count: 2 });
    assert.equal(list.has('kim@example.com'), false, 'soft bounces alone suppress nothing');
    await list.close();
    const reopened = await SuppressionList.open(path);
    assert.equal(reopened.softBounceCount('KIM@example.com'), 2);
    assert.equal(reopened.size, 0);
    const third = await reopened.softBounce({ email: 'kim@example.com', campaign: 'autumn' }, 3, now);
    assert.equal(third.count, 3);
    assert.deepEqual(third.suppression, { added: true, record: { email: 'kim@example.com', reason: 'softBounce', at: now.toISOString(), campaign: 'autumn', list: '' } });
    assert.ok(reopened.has('kim@example.com'));
    const after = await reopened.softBounce({ email: 'kim@example.com' }, 3, now);
    assert.deepEqual([after.count, after.suppression?.added], [3, false], 'not counted once suppressed');
    await reopened.close();
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 4, 'three bounces and one suppression');
  });

  it('ignores a torn last line and cuts it off before appending', async () => {
    const list = await SuppressionList.open(path);
    await list.suppress({ email: 'ann@example.com', reason: 'unsubscribe' }, now);
    await list.close();
    const whole = readFileSync(path, 'utf8');
    appendFileSync(path, encodeSuppressionLine({ email: 'bob@example.com', reason: 'manual', at: now.toISOString(), campaign: '', list: '' }).slice(0, 30));
    const reopened = await SuppressionList.open(path);
    assert.equal(reopened.size, 1);
    assert.equal(reopened.has('bob@example.com'), false);
    await reopened.suppress({ email: 'cy@example.com', reason: 'manual' }, now);
    await reopened.close();
    const lines = readFileSync(path, 'utf8').slice(whole.length).split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /cy@example\.com/);
    const third = await SuppressionList.open(path);
    assert.equal(third.size, 2);
    assert.equal(third.corruptLines, 0);
    await third.close();
  });

  it('counts a damaged line in the middle and keeps the others', async () => {
    const good = (email: string) => encodeSuppressionLine({ email, reason: 'manual', at: now.toISOString(), campaign: '', list: '' });
    writeFileSync(path.replace('sub/', ''), `${good('a@example.com')}deadbeef {"email":"x@example.com"}\n${good('b@example.com')}`);
    const list = await SuppressionList.open(path.replace('sub/', ''));
    assert.equal(list.size, 2);
    assert.equal(list.corruptLines, 1);
    await list.close();
  });

  it('refuses an invalid address, reason or name with a clear error, and writes nothing', async () => {
    const list = await SuppressionList.open(path);
    const refused = (request: Record<string, unknown>, field: string) => assert.throws(
      () => list.suppress(request as never),
      (err: unknown) => isMarketingError(err) && err.code === 'badSuppression' && err.params.field === field,
    );
    refused({ email: 'not an address', reason: 'manual' }, 'email');
    refused({ reason: 'manual' }, 'email');
    refused({ email: 'ann@example.com', reason: 'bored' }, 'reason');
    refused({ email: 'ann@example.com', reason: 'manual', campaign: 42 }, 'campaign');
    refused({ email: 'ann@example.com', reason: 'manual', list: 'x'.repeat(201) }, 'list');
    assert.equal(list.size, 0);
    await list.close();
    assert.equal(readFileSync(path, 'utf8'), '');
  });

  it('shares one list per file in the process, closed with its last user', async () => {
    const a = acquireSuppressionList(path);
    const b = acquireSuppressionList(path);
    const [listA, listB] = await Promise.all([a.list, b.list]);
    assert.equal(listA, listB);
    await listA.suppress({ email: 'ann@example.com', reason: 'unsubscribe' }, now);
    assert.ok(listB.has('ann@example.com'));
    await a.release();
    await listB.suppress({ email: 'bob@example.com', reason: 'unsubscribe' }, now);
    await b.release();
    await assert.rejects(listB.suppress({ email: 'cy@example.com', reason: 'manual' }), (err: unknown) => isMarketingError(err) && err.code === 'suppressionWrite');
    const c = acquireSuppressionList(path);
    assert.equal((await c.list).size, 2);
    await c.release();
  });

  it('reports a file it cannot open', async () => {
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(SuppressionList.open(join(dir, 'file', 'suppression.log')), (err: unknown) => isMarketingError(err) && err.code === 'suppressionOpen');
  });
});
