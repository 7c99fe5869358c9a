import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { FifoScheduler } from '../../lib/generation/scheduler';

/** A job the test finishes by hand, to control the order of events exactly. */
function manualJob(log: string[], name: string) {
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const job = async (): Promise<string> => {
    log.push(`start ${name}`);
    await finished;
    log.push(`end ${name}`);
    return name;
  };
  return { job, finish };
}

describe('lib/generation/scheduler', () => {
  it('runs one job at a time, in arrival order', async () => {
    const scheduler = new FifoScheduler();
    const log: string[] = [];
    const a = manualJob(log, 'a');
    const b = manualJob(log, 'b');
    const c = manualJob(log, 'c');
    const results = [scheduler.run(a.job), scheduler.run(b.job), scheduler.run(c.job)];
    await tick();
    assert.deepEqual(log, ['start a']);
    assert.equal(scheduler.waitingCount, 2);
    assert.equal(scheduler.runningCount, 1);
    c.finish();
    b.finish();
    a.finish();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c']);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    await scheduler.whenIdle();
    assert.equal(scheduler.runningCount, 0);
  });

  it('runs up to its limit of jobs at once, starting them in arrival order', async () => {
    const scheduler = new FifoScheduler(2);
    const log: string[] = [];
    const jobs = ['a', 'b', 'c', 'd'].map((name) => manualJob(log, name));
    const results = jobs.map((job) => scheduler.run(job.job));
    await tick();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.equal(scheduler.runningCount, 2);
    assert.equal(scheduler.waitingCount, 2);
    jobs[1].finish();
    await tick();
    assert.deepEqual(log, ['start a', 'start b', 'end b', 'start c']);
    jobs[3].finish();
    jobs[2].finish();
    await tick();
    assert.deepEqual(log.slice(4), ['end c', 'start d', 'end d']);
    jobs[0].finish();
    assert.deepEqual(await Promise.all(results), ['a', 'b', 'c', 'd']);
    await scheduler.whenIdle();
    assert.throws(() => new FifoScheduler(0), RangeError);
  });

  it('takes an aborted job out of the queue with the abort reason', async () => {
    const scheduler = new FifoScheduler();
    const log: string[] = [];
    const a = manualJob(log, 'a');
    const b = manualJob(log, 'b');
    const c = manualJob(log, 'c');
    const controller = new AbortController();
    const first = scheduler.run(a.job);
    const second = scheduler.run(b.job, controller.signal);
    const third = scheduler.run(c.job);
    controller.abort(new Error('closed'));
    await assert.rejects(second, /closed/);
    assert.equal(scheduler.waitingCount, 1);
    a.finish();
    c.finish();
    assert.equal(await first, 'a');
    assert.equal(await third, 'c');
    assert.deepEqual(log, ['start a', 'end a', 'start c', 'end c']);
    // Already aborted: refused at once.
    await assert.rejects(scheduler.run(b.job, controller.signal), /closed/);
  });

  it('goes on after a failed job and reports idleness', async () => {
    const scheduler = new FifoScheduler();
    await assert.rejects(
      scheduler.run(async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal(await scheduler.run(async () => 'next'), 'next');
    await scheduler.whenIdle();
  });
});
