import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import promptNode from '../../nodes/prompt/prompt';
import { collect } from '../support/collect';

helper.init(require.resolve('node-red'));

type Message = Record<string, unknown>;
type CaughtError = { message: string; code?: string; source: { id: string } };

const contact = { email: 'ann@example.com', firstName: 'Ann', lastName: "O'Brien & Co <Ltd>", city: 'Lyon', tags: ['vip', 'golf'] };
const vip = { name: 'vip', index: 0, size: 3 };

/**
 * A tab (with a flow environment variable), the prompt node, its output and a Catch node
 * (nodes on a tab need a position, or the runtime takes them for config nodes).
 */
function campaign(prompt: Message): unknown[] {
  return [
    { id: 'tab', type: 'tab', label: 'campaign', env: [{ name: 'BRAND', value: 'Acme', type: 'str' }] },
    { id: 'prompt', z: 'tab', x: 100, y: 40, type: 'marketing-prompt', name: '', segments: [], partials: [], missing: 'empty', maxValueLength: 500, ...prompt, wires: [['out']] },
    { id: 'out', z: 'tab', x: 300, y: 40, type: 'helper', wires: [] },
    { id: 'catch', z: 'tab', x: 100, y: 100, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'tab', x: 300, y: 100, type: 'helper', wires: [] },
  ];
}

function nextMessage(id: string): Promise<Message> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve));
}

type ReportedError = Error & { code?: string; params?: Record<string, unknown> };

/**
 * The arguments of every call of `method` on the prompt node so far: the test helper
 * records Node's `error` and `status` with sinon spies (shared by all nodes, hence the filter).
 */
function callsOf(method: 'error' | 'status'): unknown[][] {
  const node = helper.getNode('prompt');
  const spy = node[method] as unknown as { getCalls(): { thisValue: unknown; args: unknown[] }[] };
  return spy.getCalls().filter((call) => call.thisValue === node).map((call) => call.args);
}

/** The Error objects the prompt node reported (done(err) is node.error(err, msg)). */
function reportedErrors(): ReportedError[] {
  return callsOf('error').map((args) => args[0] as ReportedError);
}

async function render(prompt: Message, msg: Message): Promise<Message> {
  await helper.load([promptNode], campaign(prompt));
  const output = nextMessage('out');
  helper.getNode('prompt').receive(msg);
  return output;
}

async function renderError(prompt: Message, msg: Message): Promise<{ caught: CaughtError; reported: ReportedError; sent: Message[] }> {
  await helper.load([promptNode], campaign(prompt));
  const sent = collect<Message>('out');
  const caught = nextMessage('caught');
  helper.getNode('prompt').receive(msg);
  const error = (await caught).error as CaughtError;
  const reported = reportedErrors();
  assert.equal(reported.length, 1, 'one error per failed message');
  return { caught: error, reported: reported[0], sent };
}

describe('marketing-prompt node', () => {
  afterEach(() => helper.unload());

  describe('context', () => {
    it('renders contact, segment and msg values into msg.prompt and msg.payload, passing contact and segment through', async () => {
      const msg = { contact, segment: vip, topic: 'spring sale' };
      const out = await render({ template: 'Write to {{contact.firstName}} ({{segment.name}}) about the {{msg.topic}}.' }, msg);
      assert.equal(out.prompt, 'Write to Ann (vip) about the spring sale.');
      assert.equal(out.payload, out.prompt);
      assert.deepEqual(out.contact, contact);
      assert.deepEqual(out.segment, vip);
    });

    it('takes the contact from msg.payload when msg.contact is absent', async () => {
      const out = await render({ template: 'Hi {{contact.firstName}} from {{contact.city}}' }, { payload: contact });
      assert.equal(out.prompt, 'Hi Ann from Lyon');
      assert.deepEqual(out.contact, contact);
    });

    it('resolves flow, global and env names like the core Template node', async () => {
      await helper.load([promptNode], campaign({ template: '{{env.BRAND}}: {{flow.offer.text}} until {{global.deadline}}{{#flow.urgent}}!{{/flow.urgent}}' }));
      const node = helper.getNode('prompt');
      node.context().flow.set('offer', { text: '10% off' });
      node.context().flow.set('urgent', true);
      node.context().global.set('deadline', 'Friday');
      const output = nextMessage('out');
      node.receive({ contact });
      assert.equal((await output).prompt, 'Acme: 10% off until Friday!');
    });

    it('prefers a name the contact context has over a context lookup', async () => {
      await helper.load([promptNode], campaign({ template: '{{#contact}}{{flow.x}}{{/contact}}' }));
      helper.getNode('prompt').context().flow.set('x', 'from flow');
      const output = nextMessage('out');
      helper.getNode('prompt').receive({ contact: { flow: { x: 'from contact' } } });
      assert.equal((await output).prompt, 'from contact');
    });
  });

  describe('templates', () => {
    it('inserts partials configured on the node', async () => {
      const partials = [{ name: 'brand', template: 'Tone: friendly, from {{env.BRAND}}.' }, { name: 'ask', template: 'End with a question.' }];
      const out = await render({ template: '{{> brand}} Write to {{contact.firstName}}. {{> ask}}', partials }, { contact });
      assert.equal(out.prompt, 'Tone: friendly, from Acme. Write to Ann. End with a question.');
    });

    it('picks the template of the contact\'s segment, or the default one', async () => {
      const segments = [{ segment: 'vip', template: 'VIP {{contact.firstName}}' }, { segment: 'lapsed', template: 'Come back {{contact.firstName}}' }];
      await helper.load([promptNode], campaign({ template: 'Hello {{contact.firstName}}', segments }));
      const received = collect<Message>('out');
      const node = helper.getNode('prompt');
      for (const segment of [vip, { name: 'lapsed', index: 1, size: 1 }, { name: 'other', index: 2, size: 1 }, 'vip', undefined]) {
        node.receive({ contact, segment });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(received.map((msg) => msg.prompt), ['VIP Ann', 'Come back Ann', 'Hello Ann', 'VIP Ann', 'Hello Ann']);
      assert.equal(received[3].segment, 'vip');
    });

    it('never HTML-escapes: quotes, ampersands and angle brackets stay as they are', async () => {
      const out = await render({ template: 'To {{contact.lastName}} / {{{contact.lastName}}}' }, { contact });
      assert.equal(out.prompt, "To O'Brien & Co <Ltd> / O'Brien & Co <Ltd>");
    });

    it('strips control characters (keeping newlines and tabs) and caps each value', async () => {
      const odd = { firstName: 'An\u0000n\u001b[31m\r\n\tx', bio: 'y'.repeat(50) };
      const out = await render({ template: '[{{contact.firstName}}] [{{contact.bio}}]', maxValueLength: 10 }, { contact: odd });
      assert.equal(out.prompt, `[Ann[31m\n\tx] [${'y'.repeat(10)}]`);
    });

    it('caps values at 500 characters when the cap is not configured', async () => {
      const out = await render({ template: '{{contact.bio}}', maxValueLength: undefined }, { contact: { bio: 'z'.repeat(900) } });
      assert.equal(out.prompt, 'z'.repeat(500));
    });
  });

  describe('missing variables', () => {
    const template = 'Hi {{contact.firstName|there}}, {{contact.company}}{{msg.topic}}.';
    const sparse = { contact: { firstName: '', city: 'Lyon' } };

    it('empty: missing values insert nothing', async () => {
      const out = await render({ template, missing: 'empty' }, sparse);
      assert.equal(out.prompt, 'Hi , .');
    });

    it('default: missing values insert their written default', async () => {
      const out = await render({ template, missing: 'default' }, sparse);
      assert.equal(out.prompt, 'Hi there, .');
    });

    it('error: the message fails with one error naming every missing variable, and nothing is sent', async () => {
      const { caught, reported, sent } = await renderError({ template, missing: 'error' }, sparse);
      assert.equal(caught.code, 'missingVariables');
      assert.equal(caught.source.id, 'prompt');
      assert.match(caught.message, /prompt\.errors\.missingVariables/);
      assert.deepEqual(reported.params, { names: 'contact.company, msg.topic', count: 2 });
      assert.deepEqual(sent, []);
    });
  });

  describe('bad input', () => {
    it('fails a message without a contact, and one with a list of contacts', async () => {
      const first = await renderError({ template: 'x' }, { payload: 'hello' });
      assert.equal(first.caught.code, 'noContact');
      assert.deepEqual(first.sent, []);
      await helper.unload();
      const second = await renderError({ template: 'x' }, { payload: [contact, contact] });
      assert.equal(second.caught.code, 'contactList');
      assert.deepEqual(second.reported.params, { count: 2 });
    });

    it('fails a message whose segment has no template when there is no default template', async () => {
      const { caught, reported } = await renderError({ template: '  ', segments: [{ segment: 'vip', template: 'v' }] }, { contact, segment: { name: 'new' } });
      assert.equal(caught.code, 'noTemplate');
      assert.deepEqual(reported.params, { segment: 'new' });
    });
  });

  describe('bad templates', () => {
    for (const [what, settings, expected] of [
      ['an unclosed section', { template: 'Hi\n  {{#contact.vip}}VIP' },
        { template: 'default', line: 2, column: 3, detail: 'section "contact.vip" is never closed with {{/contact.vip}}' }],
      ['an unknown partial', { template: 'ok', segments: [{ segment: 'vip', template: 'Hi\n{{> footer}}' }] },
        { template: 'vip', line: 2, column: 1, detail: 'unknown partial "footer"' }],
    ] as const) {
      it(`reports ${what} at deploy with line and column and a red status, then fails messages cleanly`, async () => {
        await helper.load([promptNode], campaign(settings));
        const [deployError] = reportedErrors();
        assert.equal(deployError.code, 'templateSyntax');
        assert.deepEqual(deployError.params, expected);
        assert.deepEqual(callsOf('status'), [[{ fill: 'red', shape: 'ring', text: 'prompt.status.badTemplate' }]]);

        const sent = collect<Message>('out');
        const caught = nextMessage('caught');
        helper.getNode('prompt').receive({ contact });
        assert.equal(((await caught).error as CaughtError).code, 'templateSyntax');
        assert.deepEqual(sent, []);
      });
    }
  });

  describe('preview endpoint', () => {
    const settings = {
      template: 'Hello {{contact.firstName|there}} from {{flow.sender}}',
      segments: [{ segment: 'vip', template: '{{> brand}} Dear {{contact.lastName}}' }],
      partials: [{ name: 'brand', template: '[Acme]' }],
      missing: 'default',
      maxValueLength: 500,
    };

    it('renders the unsaved settings for a pasted sample contact and segment', async () => {
      await helper.load([promptNode], campaign({ template: 'deployed' }));
      const res = await helper.request().post('/marketing-prompt/preview')
        .send({ settings, contact: JSON.stringify(contact), segment: 'vip' });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { prompt: "[Acme] Dear O'Brien & Co <Ltd>", template: 'vip', unresolved: [] });

      const other = await helper.request().post('/marketing-prompt/preview').send({ settings, contact: '{"city":"Lyon"}' });
      assert.deepEqual(other.body, { prompt: 'Hello there from ', template: 'default', unresolved: ['flow.sender'] });
    });

    it('resolves flow, global and env values through the deployed node', async () => {
      await helper.load([promptNode], campaign({ template: 'deployed' }));
      helper.getNode('prompt').context().flow.set('sender', 'Bea');
      const res = await helper.request().post('/marketing-prompt/preview')
        .send({ id: 'prompt', settings: { ...settings, template: settings.template + ' at {{env.BRAND}}' }, contact: '{"firstName":"Ann"}' });
      assert.deepEqual(res.body, { prompt: 'Hello Ann from Bea at Acme', template: 'default', unresolved: [] });
    });

    it('answers 400 with the error for a bad template, a bad sample or missing variables', async () => {
      await helper.load([promptNode], campaign({ template: 'deployed' }));
      const cases: [Message, string, Message][] = [
        [{ settings: { template: 'Hi {{#a}}' }, contact: '{}' }, 'templateSyntax',
          { template: 'default', line: 1, column: 4, detail: 'section "a" is never closed with {{/a}}' }],
        [{ settings: { template: 'Hi' }, contact: '{"firstName": ' }, 'badSample', {}],
        [{ settings: { template: 'Hi {{contact.x}} {{contact.y}}', missing: 'error' }, contact: '{}' }, 'missingVariables',
          { names: 'contact.x, contact.y', count: 2 }],
        [{ settings: { template: 'Hi' }, contact: '[1, 2]' }, 'contactList', { count: 2 }],
      ];
      for (const [body, code, params] of cases) {
        const res = await helper.request().post('/marketing-prompt/preview').send(body);
        assert.equal(res.status, 400, code);
        const error = res.body.error as { code: string; message: string; params: Message };
        assert.equal(error.code, code);
        assert.equal(error.message, `prompt.errors.${code}`);
        if (code === 'badSample') assert.match(String(error.params.detail), /JSON/);
        else assert.deepEqual(error.params, params);
      }
    });
  });
});

describe('marketing-prompt locales', () => {
  const catalog = (language: string) =>
    JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'nodes', 'prompt', 'locales', language, 'prompt.json'), 'utf8')) as Message;
  const keys = (value: unknown, prefix = ''): string[] =>
    typeof value === 'object' && value !== null
      ? Object.entries(value).flatMap(([key, inner]) => keys(inner, prefix ? `${prefix}.${key}` : key))
      : [prefix];

  it('has the same keys in en-US and zh-CN, with a message for every error code the node reports', () => {
    const english = catalog('en-US');
    assert.deepEqual(keys(catalog('zh-CN')).sort(), keys(english).sort());
    const errors = (english.prompt as { errors: Record<string, string> }).errors;
    for (const code of ['templateSyntax', 'missingVariables', 'noContact', 'contactList', 'noTemplate', 'badSample']) {
      assert.ok(errors[code], code);
    }
  });
});
