/**
 * The check node's reasons, status and errors with the package's real catalogs, in a real
 * Node-RED process (the test helper loads no catalog): in English and, with `lang` set, in Chinese.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';

const VERA = { email: 'vera.keller@example.com', firstName: 'Vera', name: 'Vera Keller', language: 'en' };

function flows(): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'texts' },
    {
      id: 'inject', type: 'inject', z: 'tab', x: 100, y: 40, once: true, onceDelay: 0.1, repeat: '', topic: '',
      props: [{ p: 'payload', v: JSON.stringify(['Good morning Quentin, welcome to Example Shop!']), vt: 'json' }, { p: 'contact', v: JSON.stringify(VERA), vt: 'json' }],
      wires: [['check']],
    },
    { id: 'bad', type: 'inject', z: 'tab', x: 100, y: 100, once: true, onceDelay: 0.3, repeat: '', topic: '', props: [{ p: 'payload', v: '42', vt: 'num' }], wires: [['check']] },
    { id: 'check', type: 'marketing-check', z: 'tab', x: 300, y: 40, brand: 'Example Shop', wires: [[], ['reason']] },
    { id: 'reason', type: 'debug', z: 'tab', x: 500, y: 40, name: 'reason', active: true, tosidebar: false, console: true, complete: 'check.candidates[0].failed[0].reason', targetType: 'msg' },
    { id: 'catch', type: 'catch', z: 'tab', x: 100, y: 200, scope: ['check'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'debug', z: 'tab', x: 300, y: 200, name: 'caught', active: true, tosidebar: false, console: true, complete: 'error.message', targetType: 'msg' },
  ];
}

describe('marketing-check texts in a Node-RED process', function () {
  this.timeout(90_000);
  let red: RunningNodeRed | undefined;
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-check-texts-'));

  afterEach(async () => {
    await red?.stop();
    red = undefined;
  });
  after(() => rmSync(userDir, { recursive: true, force: true }));

  it('translates the reason of a held candidate and the error of input without a contact (en-US)', async () => {
    red = await startNodeRed({ userDir: join(userDir, 'en'), linkPackage: true, flows: flows(), settings: { lang: 'en-US' } });
    await red.waitForOutput(/\[debug:caught\]/);
    await red.waitForOutput(/\[debug:reason\]/);
    const output = red.output();
    assert.match(output, /\[debug:reason\] greets someone else \(Quentin\): "Good morning Quentin, welcome to Example Shop!"/);
    assert.match(output, /\[debug:caught\][^\n]*msg\.contact must be the contact object the text is for, not undefined/);
  });

  it('translates them in Chinese when Node-RED runs in zh-CN', async () => {
    red = await startNodeRed({ userDir: join(userDir, 'zh'), linkPackage: true, flows: flows(), settings: { lang: 'zh-CN' } });
    await red.waitForOutput(/\[debug:caught\]/);
    await red.waitForOutput(/\[debug:reason\]/);
    const output = red.output();
    assert.match(output, /\[debug:reason\] 称呼了其他人（Quentin）：“Good morning Quentin, welcome to Example Shop!”/);
    assert.match(output, /\[debug:caught\][^\n]*msg\.contact 必须是文本所针对的联系人对象，而不是 undefined/);
  });
});
