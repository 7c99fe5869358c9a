/**
 * Node-RED run with `--disallow-code-generation-from-strings`, as hardened deployments do:
 * `eval` and `new Function` throw there. A contact list goes through the segment node and its
 * first segment through the send-email node to a real SMTP server; every outcome must be the
 * one a normal run gives. (Node-RED's own web stack needs one stand-in to start under the flag:
 * see test/support/depd-without-code-generation.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { startTestSmtpServer, type TestSmtpServer } from '../support/smtp-server';

const CONTACTS = [
  { email: 'ann@example.com', name: 'Ann', country: 'FR', signup: '2024-05-01', lastPurchase: '2024-06-01T10:00:00Z', orders: 3, spent: 120 },
  { email: 'bob@example.com', name: 'Bob', country: 'DE', signup: '2024-05-01', orders: '1', spent: '20' },
  { email: ' ANN@Example.com ', name: 'Ann again', country: 'FR', signup: '2024-05-01' },
  { email: 'carl@example', name: 'Carl', country: 'FR', signup: '2024-05-01' },
  { email: 'dora@example.com', name: 'Dora', country: 'FR', signup: '2024-05-01', unsubscribed: 'yes' },
  { email: 'eve@example.com', name: 'Eve', country: 'fr', signup: '2024-03-01T09:00:00.000Z', orders: 7, spent: 700 },
  { email: 'fred@example.com', name: 'Fred', country: 'FR', signup: '2023-01-01', tags: 'vip, news' },
];

/** A template node that writes one line per message, and the debug node that logs it. */
function line(id: string, template: string): object[] {
  return [
    { id, type: 'template', z: 'tab', field: 'payload', fieldType: 'msg', format: 'text', syntax: 'mustache', output: 'str',
      template, x: 500, y: 100, wires: [[`${id}-log`]] },
    { id: `${id}-log`, type: 'debug', z: 'tab', name: 'outcome', active: true, tosidebar: false, console: true, tostatus: false,
      complete: 'payload', targetType: 'msg', x: 700, y: 100, wires: [] },
  ];
}

function flow(smtpPort: number): object[] {
  return [
    { id: 'tab', type: 'tab', label: 'no code generation' },
    { id: 'smtp-config', type: 'marketing-smtp', name: '', transport: 'smtp', host: '127.0.0.1', port: smtpPort, security: 'none',
      maxConnections: 1, timeout: 5 },
    { id: 'in', type: 'inject', z: 'tab', once: true, onceDelay: 0.5, repeat: '', crontab: '', topic: '',
      props: [{ p: 'payload' }], payload: JSON.stringify(CONTACTS), payloadType: 'json', x: 100, y: 100, wires: [['segment', 'probe']] },
    // Proof that the flag holds: the message was made by the runtime, so its constructor's
    // constructor is the runtime's Function (a function node's own code runs in a separate
    // context, which the flag does not cover).
    { id: 'probe', type: 'function', z: 'tab', name: '', outputs: 1, x: 300, y: 200, wires: [['probe-line']],
      func: "try { msg.constructor.constructor('return 1')(); msg.payload = 'new Function allowed'; }\n"
        + "catch (err) { msg.payload = 'new Function refused: ' + err.name; }\nreturn msg;" },
    ...line('probe-line', '{{payload}}'),
    {
      id: 'segment', type: 'marketing-segment', z: 'tab', name: '', matchMode: 'first', outputMode: 'each', notTargetedOutput: true,
      optOutField: 'unsubscribed', emailField: 'email', dedupe: true,
      rfm: true, rfmRecency: 'lastPurchase', rfmFrequency: 'orders', rfmMonetary: 'spent',
      segments: [
        { name: 'France', join: 'all', rules: [
          { field: 'country', op: 'regex', value: '^fr$', ignoreCase: true },
          { field: 'signup', op: 'after', value: '2024-01-01', valueType: 'date' },
          { join: 'any', rules: [{ field: 'orders', op: 'gte', value: '1', valueType: 'num' }, { field: 'tags', op: 'lacksTags', value: 'vip' }] },
        ] },
        { name: 'Others', join: 'all', rules: [] },
      ],
      outputs: 3, x: 300, y: 100, wires: [['send'], ['others'], ['not-targeted']],
    },
    {
      id: 'send', type: 'marketing-send-email', z: 'tab', name: '', smtp: 'smtp-config', campaign: 'no-eval', from: 'news@shop.example',
      subject: 'Hello {{contact.name}}', text: 'Hi {{contact.name}}, segment {{segment.name}}', ledger: false, afterInterruption: 'skip',
      retries: 0, retryWindow: 30, retryDelay: 0.01, x: 500, y: 40, wires: [['sent'], ['unsent']],
    },
    ...line('sent', '{{email.status}} {{email.to}} {{segment.name}} rfm {{contact.rfm.r}}{{contact.rfm.f}}{{contact.rfm.m}}'),
    ...line('unsent', '{{email.status}} {{email.to}} {{email.reason}}'),
    ...line('others', 'others {{contact.email}} rfm {{contact.rfm.score}}'),
    ...line('not-targeted', '{{segment.reason}} {{contact.email}}'),
  ];
}

describe('segment and send-email under node --disallow-code-generation-from-strings', function () {
  this.timeout(90_000);
  let server: TestSmtpServer;
  let red: RunningNodeRed | undefined;
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-no-eval-'));

  before(async () => {
    server = await startTestSmtpServer();
  });
  after(async () => {
    await red?.stop();
    await server.close();
    rmSync(userDir, { recursive: true, force: true });
  });

  it('segments the list and sends the first segment exactly as without the flag', async () => {
    const depdWithoutCodeGeneration = join(__dirname, '..', 'support', 'depd-without-code-generation.js');
    red = await startNodeRed({
      userDir, linkPackage: true, flows: flow(server.port),
      nodeArgs: ['--disallow-code-generation-from-strings', '--require', depdWithoutCodeGeneration],
    });
    // Seven contacts (two sent, two in "Others", three not targeted) and the probe.
    const outcomes = () => [...red!.output().matchAll(/\[debug:outcome\] (.*)/g)].map((match) => match[1].trim());
    const deadline = Date.now() + 60_000;
    while (outcomes().length < 8 && Date.now() < deadline) await new Promise((wait) => setTimeout(wait, 100));

    assert.doesNotMatch(red.output(), /\[error\]/);
    // Every contact object is scored against the seven (missing values rank lowest).
    assert.deepEqual(outcomes().sort(), [
      'new Function refused: EvalError',
      'duplicate  ANN@Example.com',
      'invalidEmail carl@example',
      'optedOut dora@example.com',
      'others bob@example.com rfm 344',
      'others fred@example.com rfm 322',
      'sent ann@example.com France rfm 544',
      'sent eve@example.com France rfm 355',
    ].sort(), red.output());
    assert.deepEqual(server.accepted.map((mail) => mail.to).sort(), [['ann@example.com'], ['eve@example.com']]);
    const subjects = await Promise.all(server.accepted.map(async (_, i) => (await server.parse(i)).subject));
    assert.deepEqual(subjects.sort(), ['Hello Ann', 'Hello Eve']);
  });
});
