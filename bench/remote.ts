/**
 * `npm run bench:remote`: throughput of marketing-generate-text on the inference-server
 * backend against its in-flight limit. The FAKE OpenAI-compatible server of the test suite
 * (test/support/fake-openai-server.ts), in a child process of its own, answers every request
 * after a fixed 200 ms, like a server whose batch always has room: 200 prompts (200
 * messages) then take 200 x 0.2 s / concurrency at best. For in-flight limits 1, 4 and 16,
 * the node runs in the real Node-RED runtime (test helper) and the benchmark prints the
 * measured time, the ideal, the speed-up over concurrency 1 against the ideal speed-up, and
 * the most requests the server saw at once.
 *
 *     npm run bench:remote [-- --prompts 200] [-- --delay 200]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import generateTextNode from '../nodes/generate-text/generate-text';
import llmNode from '../nodes/llm/llm';
import { FakeOpenAiServer } from '../test/support/fake-openai-server';

const CONCURRENCIES = [1, 4, 16];
const KEY = 'sk-bench';

function argument(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

const PROMPTS = argument('prompts', 200);
const DELAY_MS = argument('delay', 200);

type ServerReport = { baseUrl: string } | { maxInFlight: number; requests: number };

/** Child mode: the fake server; reports its URL, then its counters when asked, and stops on disconnect. */
async function serveFake(): Promise<void> {
  const fake = await FakeOpenAiServer.start({ apiKey: KEY, delayMs: DELAY_MS });
  process.send?.({ baseUrl: fake.baseUrl } satisfies ServerReport);
  process.on('message', (command: string) => {
    if (command === 'report') process.send?.({ maxInFlight: fake.maxInFlight, requests: fake.requests.length } satisfies ServerReport);
    if (command === 'reset') fake.reset();
  });
  process.on('disconnect', () => void fake.close().then(() => process.exit(0)));
}

function nextReport(child: ChildProcess): Promise<ServerReport> {
  return new Promise((resolve) => child.once('message', (report: ServerReport) => resolve(report)));
}

async function run(baseUrl: string, concurrency: number): Promise<number> {
  await helper.load(
    [llmNode, generateTextNode],
    [
      { id: 'tab', type: 'tab' },
      { id: 'llm', type: 'marketing-llm', backend: 'openai', baseUrl, serverModel: 'bench', maxInFlight: concurrency },
      { id: 'gen', z: 'tab', x: 100, y: 40, type: 'marketing-generate-text', llm: 'llm', max_new_tokens: 16, timeout: 0, wires: [['out']] },
      { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
    ],
    { llm: { apiKey: KEY } },
  );
  let received = 0;
  let failed = 0;
  const finished = new Promise<void>((resolve) => {
    helper.getNode('out').on('input', () => {
      if (++received + failed === PROMPTS) resolve();
    });
    const gen = helper.getNode('gen') as unknown as { error: (err: unknown) => void };
    gen.error = () => {
      if (received + ++failed === PROMPTS) resolve();
    };
  });
  const started = performance.now();
  for (let i = 0; i < PROMPTS; i++) helper.getNode('gen').receive({ prompt: `Write a short welcome email for customer ${i}:`, options: { seed: i } });
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await helper.unload();
  if (failed > 0) throw new Error(`${failed} of ${PROMPTS} messages failed`);
  return seconds;
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve')) return serveFake();
  const server = fork(__filename, ['--serve', '--delay', String(DELAY_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const userDir = mkdtempSync(join(tmpdir(), 'bench-remote-'));
  try {
    const { baseUrl } = (await nextReport(server)) as { baseUrl: string };
    helper.init(require.resolve('node-red'));
    helper.settings({ userDir, logging: { console: { level: 'off' } } });

    console.log(`bench:remote: ${PROMPTS} prompts (one per message) through marketing-generate-text on the server backend;`);
    console.log(`the fake OpenAI-compatible server (a separate process) answers each request after ${DELAY_MS} ms.\n`);
    const header = ['in flight', 'measured', 'ideal', 'measured/ideal', 'waves floor', 'measured/floor', 'speed-up vs 1', 'ideal speed-up', 'server at once'];
    const line = (cells: string[]) => console.log(cells.map((cell, i) => cell.padStart(i === 0 ? 9 : 16)).join(''));
    line(header);
    let baseline = 0;
    for (const concurrency of CONCURRENCIES) {
      server.send('reset');
      const seconds = await run(baseUrl, concurrency);
      server.send('report');
      const report = (await nextReport(server)) as { maxInFlight: number; requests: number };
      if (report.requests !== PROMPTS) throw new Error(`the server saw ${report.requests} requests, not ${PROMPTS}`);
      const ideal = (PROMPTS * DELAY_MS) / 1000 / concurrency;
      // Requests go out in waves of `concurrency`; a last, partial wave still takes a whole delay.
      const floor = (Math.ceil(PROMPTS / concurrency) * DELAY_MS) / 1000;
      if (concurrency === 1) baseline = seconds;
      line([
        `${concurrency}`,
        `${seconds.toFixed(2)} s`,
        `${ideal.toFixed(2)} s`,
        (seconds / ideal).toFixed(3),
        `${floor.toFixed(2)} s`,
        (seconds / floor).toFixed(3),
        `${(baseline / seconds).toFixed(2)}x`,
        `${concurrency}x`,
        `${report.maxInFlight}`,
      ]);
    }
    console.log(`\nideal = ${PROMPTS} x ${DELAY_MS / 1000} s / in flight; the waves floor counts a last, partial wave whole (200 / 16 = 12.5`);
    console.log('waves take 13 x 0.2 s). Above the floor is what the node, Node-RED (here with the test helper\'s spies) and HTTP');
    console.log('add per wave. The machine may be shared with other work: run it twice before trusting the last digit.');
  } finally {
    server.disconnect();
    rmSync(userDir, { recursive: true, force: true });
  }
}

main().then(
  () => {
    if (!process.argv.includes('--serve')) process.exit(0);
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
