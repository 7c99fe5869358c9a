/**
 * Error texts that quote input (an address, a setting) in a real Node-RED process, with the
 * package's real translations: the log and what a Catch node passes on must show control
 * characters as escapes, so that input cannot forge a line of Node-RED's log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';

const FORGED_ADDRESS = 'user6@example.com\r\nBcc: victim@example.com';
const FORGED_SENDER = 'news@shop.example\n[error] forged line\u2028\u0007';

describe('error texts and log lines quote input on one line', function () {
  this.timeout(90_000);
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-error-texts-'));
  let red: RunningNodeRed | undefined;

  after(async () => {
    await red?.stop();
    rmSync(userDir, { recursive: true, force: true });
  });

  it('escapes CR, LF and other controls in the log and in the error a Catch node sees', async () => {
    const send = { type: 'marketing-send-email', z: 'tab', name: '', smtp: '', campaign: 'c', subject: 'Hi', text: 'x', html: '', ledger: false };
    red = await startNodeRed({
      userDir,
      linkPackage: true,
      flows: [
        { id: 'tab', type: 'tab', label: 'errors' },
        {
          id: 'inject', type: 'inject', z: 'tab', x: 100, y: 40, once: true, onceDelay: 0.1, repeat: '', topic: '',
          props: [{ p: 'to', v: FORGED_ADDRESS, vt: 'str' }], wires: [['sender']],
        },
        { id: 'sender', ...send, x: 300, y: 40, from: 'news@shop.example', wires: [[], []] },
        { id: 'badSender', ...send, x: 300, y: 120, from: FORGED_SENDER, wires: [[], []] },
        { id: 'catch', type: 'catch', z: 'tab', x: 100, y: 200, scope: ['sender'], uncaught: false, wires: [['debug']] },
        { id: 'debug', type: 'debug', z: 'tab', x: 300, y: 200, name: 'caught', active: true, tosidebar: false, console: true, complete: 'error.message', targetType: 'msg' },
      ],
    });
    await red.waitForOutput(/\[debug:caught\]/);
    const output = red.output();
    assert.ok(output.includes('Invalid recipient address: user6@example.com\\r\\nBcc: victim@example.com'), output);
    assert.ok(output.includes('Invalid sender address: news@shop.example\\n[error] forged line\\u2028\\x07'), output);
    const lines = output.split(/\r\n|\r|\n|\u2028/);
    assert.deepEqual(lines.filter((line) => /^(Bcc:|\[error\] forged)/.test(line.trim())), [], 'no forged line');
    assert.ok(!output.includes('\u0007'), 'no raw control character');
  });
});
