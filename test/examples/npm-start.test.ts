/**
 * `npm start` for real: scripts/start.mjs as a child process (on a free port, with its user
 * dir in a temporary folder and the File-in node's list a short slice of the sample list, so
 * that a run takes seconds), until it prints the campaign summary; then stopped and started
 * again on the same user dir, which must send nothing twice. Also a user dir left by an older
 * start that never deployed a flow.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { installPackageLink, PACKAGE_ROOT as root } from '../support/package-link';
import { freePort } from '../support/smtp-server';

const SUMMARY = /\[debug:campaign summary\] (Campaign contact-list-demo: .*)/;

interface Start { child: ChildProcess; output: () => string; stop: () => Promise<void> }

function start(userDir: string, contacts: string, port: number): Start {
  const child = spawn(process.execPath, [join(root, 'scripts', 'start.mjs')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), NODE_RED_USER_DIR: userDir, MARKETING_SAMPLE_CONTACTS: contacts, MARKETING_REVIEW_FOLDER: join(userDir, 'review') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function summaryOf(run: Start): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const match = SUMMARY.exec(run.output());
    if (match) return match[1];
    if (Date.now() > deadline || run.child.exitCode !== null) throw new Error(`no summary line:\n${run.output()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
}

describe('npm start', function () {
  this.timeout(300_000);
  const base = mkdtempSync(join(tmpdir(), 'marketing-npm-start-'));
  // The first 12 rows of the sample list: new customers, loyal and at-risk contacts, three opted out.
  const contacts = join(base, 'contacts.csv');
  const sample = readFileSync(join(root, 'examples', 'sample-contacts.csv'), 'utf8').split('\n');
  writeFileSync(contacts, `${sample.slice(0, 13).join('\n')}\n`);
  const optedOut = sample.slice(1, 13).filter((row) => row.endsWith(',yes')).length;
  let run: Start | undefined;

  after(async () => {
    await run?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it('deploys example 01, runs the campaign into the outbox and prints its summary; a second start resends nothing', async () => {
    const userDir = join(base, 'fresh');
    const port = await freePort();
    run = start(userDir, contacts, port);
    const first = await summaryOf(run);
    const outbox = join(userDir, 'outbox');
    const written = Number(/; (\d+) emails written to (\S+),/.exec(first)?.[1]);
    assert.match(first, new RegExp(`^Campaign contact-list-demo: 12 contacts; new customers \\d+, loyal \\d+, at risk \\d+; ` +
      `not targeted \\d+ \\(optedOut ${optedOut}[^)]*\\); checked (\\d+), passed ${written}, held for review (\\d+); ` +
      `${written} emails written to ${escapeRegExp(outbox)}, 0 already sent, 0 failed; [\\d.]+ s$`));
    const held = Number(/held for review (\d+)/.exec(first)?.[1]);
    assert.equal(written + held, 12 - Number(/not targeted (\d+)/.exec(first)?.[1]));
    assert.equal(Number(/checked (\d+)/.exec(first)?.[1]), written + held);
    assert.match(run.output(), new RegExp(`Server now running at http://127\\.0\\.0\\.1:${port}/`));
    const files = readdirSync(outbox).sort();
    assert.equal(files.length, written);
    if (held > 0) assert.match(readFileSync(join(userDir, 'review', 'contact-list-demo.txt'), 'utf8'), /held for review\n {2}candidate 1: /);
    for (const file of files) {
      const mail = await simpleParser(readFileSync(join(outbox, file)));
      assert.equal(mail.from?.value[0].address, 'news@shop.example');
      assert.ok(String(mail.text).split('\n--\n')[0].trim().length > 20, 'a generated email');
    }
    // The editor stays up, with the example deployed.
    const flows = await (await fetch(`http://127.0.0.1:${port}/flows`, { headers: { 'Node-RED-API-Version': 'v1' } })).json() as Array<{ type: string }>;
    assert.ok(flows.some((node) => node.type === 'marketing-send-email'));
    await run.stop();

    run = start(userDir, contacts, await freePort());
    const second = await summaryOf(run);
    assert.match(second, new RegExp(`held for review ${held}; 0 emails written to ${escapeRegExp(outbox)}, ${written} already sent, 0 failed; `));
    assert.doesNotMatch(run.output(), /example 01 deployed/, 'the user dir and its flows are reused');
    assert.deepEqual(readdirSync(outbox).sort(), files, 'nothing resent');
    await run.stop();
  });

  it('works in a user dir left by an older start that never deployed (its settings, its link, an empty flow file)', async () => {
    const userDir = join(base, 'older');
    installPackageLink(userDir);
    writeFileSync(join(userDir, 'settings.js'), "module.exports = {\n    uiHost: '127.0.0.1',\n    flowFile: 'flows.json',\n};\n");
    writeFileSync(join(userDir, 'flows.json'), '[]');
    run = start(userDir, contacts, await freePort());
    const summary = await summaryOf(run);
    assert.match(run.output(), /example 01 deployed/);
    assert.match(summary, /; \d+ emails written to .*, 0 already sent, 0 failed; /);
    assert.ok(existsSync(join(userDir, 'outbox')));
    await run.stop();
  });
});
