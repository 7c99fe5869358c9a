/**
 * marketing-suppress in the real Node-RED runtime, behind Node-RED's own HTTP In and HTTP
 * Response nodes served on a loopback port: the one-click POST, the browser GET and its
 * confirmation page in both languages, refusals of forged, expired and malformed links,
 * oversized and flooding requests, and suppressions fed by a flow.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import suppressNode from '../../nodes/suppress/suppress';
import smtpNode from '../../nodes/smtp/smtp';
import { SuppressionList, DEFAULT_SUPPRESSION_FILE } from '../../lib/consent/suppression';
import { DEFAULT_LEDGER_FILE, SendLedger } from '../../lib/email/ledger';
import { signUnsubscribeToken } from '../../lib/consent/token';
import { collect, helper, startServer, stopServer, waitUntil, type TestFlow } from '../support/red';
import { makeUserDir, removeUserDir, SMTP_DEFAULTS } from '../support/send-email-flow';

const SECRET = 'a random secret of 32 characters';
const OLD_SECRET = 'the secret before the rotation!';
const DAY = 24 * 60 * 60 * 1000;

const DSN_DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'dsn');

const httpInNode = createRequire(require.resolve('node-red'))('@node-red/nodes/core/network/21-httpin.js') as unknown;

interface Answer { status: number; text: string; headers: Headers }

function suppressFlow(suppress: Record<string, unknown> = {}): TestFlow {
  return [
    { id: 'tab', type: 'tab', label: 'consent' },
    { id: 'smtp-server', type: 'marketing-smtp', name: '', ...SMTP_DEFAULTS, transport: 'outbox', unsubscribeGraceDays: 30 },
    { id: 'get', type: 'http in', z: 'tab', x: 100, y: 20, url: '/unsubscribe', method: 'get', wires: [['suppress']] },
    { id: 'post', type: 'http in', z: 'tab', x: 100, y: 60, url: '/unsubscribe', method: 'post', wires: [['suppress']] },
    { id: 'suppress', type: 'marketing-suppress', z: 'tab', x: 300, y: 40, name: '', smtp: 'smtp-server', getAction: 'confirm', language: 'en', rateLimit: 0, ...suppress, wires: [['response', 'out']] },
    { id: 'response', type: 'http response', z: 'tab', x: 500, y: 40 },
    { id: 'out', type: 'helper', z: 'tab', x: 500, y: 80 },
    { id: 'catch-all', type: 'catch', z: 'tab', x: 100, y: 100, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 100 },
  ];
}

describe('marketing-suppress', function () {
  let userDir: string;
  let web: Server | undefined;
  let base: string;
  let httpNode: ((req: unknown, res: unknown) => void) | undefined;
  /** A node module that keeps the runtime's httpNode app, to serve it on a port of the test's own. */
  const captureHttpNode = (RED: NodeAPI) => {
    httpNode = RED.httpNode as unknown as (req: unknown, res: unknown) => void;
  };

  before(startServer);
  after(stopServer);
  beforeEach(() => {
    userDir = makeUserDir();
  });
  afterEach(async () => {
    await helper.unload();
    await new Promise<void>((resolve) => (web ? web.close(() => resolve()) : resolve()));
    web = undefined;
    removeUserDir(userDir);
  });

  async function deploy(
    suppress: Record<string, unknown> = {}, credentials: Record<string, unknown> = { unsubscribeSecret: SECRET }, suppressCredentials: Record<string, unknown> = {},
  ) {
    const flow = suppressFlow(suppress);
    await helper.load([captureHttpNode, httpInNode, smtpNode, suppressNode], flow, { 'smtp-server': credentials, suppress: suppressCredentials });
    web = createServer((req, res) => (httpNode as (req: unknown, res: unknown) => void)(req, res));
    await new Promise<void>((resolve) => (web as Server).listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
    return { out: collect('out'), caught: collect('caught') };
  }

  async function request(path: string, init: RequestInit = {}): Promise<Answer> {
    const response = await fetch(`${base}${path}`, init);
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  const oneClick = (token: string, extra: RequestInit = {}) => request(`/unsubscribe?token=${token}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'List-Unsubscribe=One-Click',
    ...extra,
  });

  async function suppressionFile(): Promise<SuppressionList> {
    await helper.unload();
    return SuppressionList.open(join(userDir, DEFAULT_SUPPRESSION_FILE));
  }

  it('records a one-click POST with the token\'s campaign and list, once however often it comes', async () => {
    const { out } = await deploy();
    const token = signUnsubscribeToken({ email: 'Ann@Example.com', campaign: 'spring', list: 'newsletter' }, SECRET);
    const first = await oneClick(token);
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
    assert.equal(first.headers.get('cache-control'), 'no-store');
    assert.equal(first.headers.get('referrer-policy'), 'no-referrer');
    assert.match(first.text, /<h1>You are unsubscribed<\/h1>/);
    const again = await oneClick(token);
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text, 'the same answer');
    await waitUntil(() => out.length === 2, 5000, 'two outputs');
    const consents = out.map((msg) => (msg as unknown as { consent: Record<string, unknown> }).consent);
    assert.equal(consents[0].status, 'suppressed');
    assert.equal(consents[1].status, 'alreadySuppressed');
    assert.deepEqual({ ...consents[0], at: undefined }, { status: 'suppressed', email: 'ann@example.com', reason: 'unsubscribe', campaign: 'spring', list: 'newsletter', at: undefined });
    const list = await suppressionFile();
    assert.equal(list.size, 1);
    assert.equal(list.lookup('ann@example.com')?.reason, 'unsubscribe');
    assert.equal(list.lookup('ann@example.com')?.campaign, 'spring');
    await list.close();
    assert.equal(readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8').trim().split('\n').length, 1);
  });

  it('answers a GET with a confirmation page in the contact\'s language, whose button POSTs back; nothing recorded until then', async () => {
    await deploy();
    const token = signUnsubscribeToken({ email: 'li@example.cn', campaign: 'spring', list: '' }, SECRET);
    const english = await request(`/unsubscribe?token=${token}`);
    assert.equal(english.status, 200);
    assert.match(english.text, /<html lang="en">/);
    assert.match(english.text, /<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe<\/button><\/form>/);
    const chinese = await request(`/unsubscribe?token=${token}&lang=zh`);
    assert.match(chinese.text, /<html lang="zh-CN">/);
    assert.match(chinese.text, /<h1>退订<\/h1>/);
    assert.match(chinese.text, /您确定不再接收这些邮件吗？/);
    const byBrowser = await request(`/unsubscribe?token=${token}`, { headers: { 'Accept-Language': 'fr-FR, zh-CN;q=0.8, en;q=0.5' } });
    assert.match(byBrowser.text, /<html lang="zh-CN">/);
    // The button: a form POST to the same URL, as a browser sends it.
    const done = await request(`/unsubscribe?token=${token}&lang=zh`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click',
    });
    assert.equal(done.status, 200);
    assert.match(done.text, /<h1>您已退订<\/h1>/);
    const list = await suppressionFile();
    assert.equal(list.size, 1);
    await list.close();
  });

  it('unsubscribes on the GET itself when told to', async () => {
    const { out } = await deploy({ getAction: 'unsubscribe', language: 'zh' });
    const answer = await request(`/unsubscribe?token=${signUnsubscribeToken({ email: 'bob@example.com', campaign: 'c', list: '' }, SECRET)}`);
    assert.equal(answer.status, 200);
    assert.match(answer.text, /<h1>您已退订<\/h1>/, 'the configured language when neither link nor browser names one');
    await waitUntil(() => out.length === 1, 5000, 'output');
    assert.equal((out[0] as unknown as { consent: { status: string } }).consent.status, 'suppressed');
  });

  it('refuses forged, foreign, expired and malformed tokens with one page that names no address, and records nothing', async () => {
    const { out } = await deploy({}, { unsubscribeSecret: SECRET, previousUnsubscribeSecret: OLD_SECRET });
    const claims = { email: 'carol@example.com', campaign: 'spring', list: '' };
    const good = signUnsubscribeToken(claims, SECRET);
    const [payload] = good.split('.');
    const other = Buffer.from(JSON.stringify([1, 'dave@example.com', 'spring', '', Math.floor(Date.now() / 1000)])).toString('base64url');
    const cases: Array<[string, number, string]> = [
      [signUnsubscribeToken(claims, 'somebody else\'s secret'), 403, 'forged'],
      [`${other}.${good.split('.')[1]}`, 403, 'forged'],
      [`${payload}.${'A'.repeat(43)}`, 403, 'forged'],
      [signUnsubscribeToken(claims, OLD_SECRET, Date.now() - 31 * DAY), 403, 'expired'],
      ['not-a-token', 400, 'malformed'],
      ['', 400, 'malformed'],
      ['a'.repeat(2000), 400, 'tooLong'],
    ];
    const pages = new Set<string>();
    for (const [token, status, why] of cases) {
      const answer = await oneClick(encodeURIComponent(token));
      assert.equal(answer.status, status, why);
      assert.ok(!answer.text.includes('carol') && !answer.text.includes('dave'), 'no address in the page');
      pages.add(answer.text);
    }
    assert.equal(pages.size, 1, 'one page for every refusal');
    const repeated = await request(`/unsubscribe?token=${good}&token=${good}`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(repeated.status, 400, 'a token given twice');
    await waitUntil(() => out.length === cases.length + 1, 5000, 'outputs');
    assert.deepEqual(out.map((msg) => (msg as unknown as { consent: { refused: string } }).consent.refused), [...cases.map(([, , why]) => why), 'malformed']);
    // The previous secret within its grace period still works.
    assert.equal((await oneClick(signUnsubscribeToken(claims, OLD_SECRET, Date.now() - 29 * DAY))).status, 200);
    const list = await suppressionFile();
    assert.deepEqual([list.size, list.has('carol@example.com'), list.has('dave@example.com')], [1, true, false]);
    await list.close();
  });

  it('refuses oversized requests (413) and a flood beyond the rate limit (429 with Retry-After)', async () => {
    await deploy({ rateLimit: 5 });
    const token = signUnsubscribeToken({ email: 'eve@example.com', campaign: 'c', list: '' }, SECRET);
    const big = await oneClick(token, { body: `List-Unsubscribe=One-Click&padding=${'x'.repeat(5000)}` });
    assert.equal(big.status, 413);
    const answers = await Promise.all(Array.from({ length: 30 }, () => request(`/unsubscribe?token=${token}`)));
    const statuses = answers.map((answer) => answer.status);
    assert.ok(statuses.filter((status) => status === 429).length >= 20, statuses.join(' '));
    const limited = answers.find((answer) => answer.status === 429) as Answer;
    assert.match(limited.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
    assert.match(limited.text, /Too many requests/);
    const list = await suppressionFile();
    assert.equal(list.size, 0, 'the oversized one-click was not recorded');
    await list.close();
  });

  it('answers 503 to every link while no unsubscribe secret is set, and says why at deploy', async () => {
    await deploy({}, {});
    const answer = await oneClick(signUnsubscribeToken({ email: 'fay@example.com', campaign: 'c', list: '' }, SECRET));
    assert.equal(answer.status, 503);
    assert.match(answer.text, /not possible at the moment/);
    const logged = helper.log().args.map(([event]) => event as { type?: string; msg?: unknown });
    assert.ok(logged.some((event) => event.type === 'marketing-suppress' && String(event.msg).includes('suppress.errors.noSecret')));
  });

  it('records a suppression fed by a flow, with any of the four reasons, and refuses a bad one with a clear error', async () => {
    const { out, caught } = await deploy();
    const node = helper.getNode('suppress');
    node.receive({ payload: { email: 'Gus@Example.com' } } as never);
    node.receive({ payload: { email: 'hal@example.com', reason: 'hardBounce', campaign: 'spring' } } as never);
    node.receive({ payload: { email: 'ivy@example.com', reason: 'complaint', campaign: 'spring', list: 'newsletter' } } as never);
    node.receive({ payload: { email: 'gus@example.com', reason: 'complaint' } } as never);
    await waitUntil(() => out.length === 4, 5000, 'four outputs');
    const results = out.map((msg) => msg.payload as { email: string; status: string; reason: string });
    // Outputs come as each write completes: in any order.
    assert.deepEqual(results.map(({ email, status, reason }) => `${email} ${status} ${reason}`).sort(), [
      'gus@example.com alreadySuppressed manual', 'gus@example.com suppressed manual', 'hal@example.com suppressed hardBounce', 'ivy@example.com suppressed complaint',
    ]);
    node.receive({ payload: { email: 'not an address' } } as never);
    node.receive({ payload: { email: 'jo@example.com', reason: 'bored' } } as never);
    node.receive({ payload: 42 } as never);
    await waitUntil(() => caught.length === 3, 5000, 'three errors');
    assert.deepEqual(caught.map((msg) => (msg as unknown as { error: { code?: string } }).error.code), ['badSuppression', 'badSuppression', 'badEvent']);
    assert.equal(out.length, 4, 'nothing sent on for bad input');
    node.receive({ topic: 'report' } as never);
    await waitUntil(() => out.length === 5, 5000, 'the report');
    assert.deepEqual(out[4].payload, { total: 3, byReason: { unsubscribe: 0, hardBounce: 1, softBounce: 0, complaint: 1, manual: 1 }, run: { suppressed: 3, already: 1, refused: 0 } });
  });

  describe('bounce messages', () => {
    /** The send ledger of earlier campaigns: what was sent to whom, with which Message-ID. */
    async function ledgerWith(records: Array<[string, string, string]>): Promise<void> {
      const ledger = await SendLedger.open(join(userDir, DEFAULT_LEDGER_FILE));
      for (const [campaign, to, messageId] of records) {
        await ledger.append({ campaign, to, state: 'sent', at: new Date().toISOString(), messageId });
      }
      await ledger.close();
    }
    const dsn = (name: string) => readFileSync(join(DSN_DIR, `${name}.eml`));
    type Event = { email: string; kind: string; campaign: string; outcome: string; softBounces?: number };

    async function feed(out: Array<{ payload?: unknown }>, payloads: Array<string | Buffer>): Promise<Event[][]> {
      // One at a time: the outcomes come out as each finishes.
      const events: Event[][] = [];
      for (const payload of payloads) {
        const before = out.length;
        helper.getNode('suppress').receive({ payload } as never);
        await waitUntil(() => out.length === before + 1, 10_000, 'a bounce outcome');
        events.push((out[before].payload as { events: Event[] }).events);
      }
      return events;
    }

    it('suppresses hard bounces at once, counts soft ones and suppresses at the limit, with the campaign of the returned Message-ID', async () => {
      await ledgerWith([
        ['winter', 'nobody@example.com', '<old@shop.example>'], ['spring', 'nobody@example.com', '<abc@shop.example>'],
        ['spring', 'gone@contoso.example', '<beef@shop.example>'], ['spring', 'slow@contoso.example', '<beef@shop.example>'],
        ['spring', 'full@example.org', '<f00d@shop.example>'], ['spring', 'someone@gmail.example', '<cafe@shop.example>'],
      ]);
      const { out } = await deploy({ softBounceLimit: 2 });
      const [postfix, exchange, exim, gmail] = await feed(out, [dsn('postfix-user-unknown'), dsn('exchange-two-recipients').toString('utf8'), dsn('exim-mailbox-full'), dsn('gmail-blocked')]);
      assert.deepEqual(postfix.map(({ email, kind, campaign, outcome }) => [email, kind, campaign, outcome]), [['nobody@example.com', 'hardBounce', 'spring', 'suppressed']]);
      assert.deepEqual(exchange.map(({ email, kind, outcome, softBounces }) => [email, kind, outcome, softBounces]), [
        ['gone@contoso.example', 'hardBounce', 'suppressed', undefined], ['slow@contoso.example', 'softBounce', 'counted', 1],
      ]);
      assert.deepEqual(exim.map(({ outcome, softBounces }) => [outcome, softBounces]), [['counted', 1]]);
      assert.deepEqual(gmail.map(({ outcome }) => outcome), ['counted']);
      // The second soft bounce of the full mailbox reaches the limit of 2.
      const [again] = await feed(out, [dsn('exim-mailbox-full')]);
      assert.deepEqual(again.map(({ outcome, softBounces }) => [outcome, softBounces]), [['suppressed', 2]]);
      const list = await suppressionFile();
      assert.deepEqual(list.summarise(), { unsubscribe: 0, hardBounce: 2, softBounce: 1, complaint: 0, manual: 0 });
      assert.equal(list.lookup('full@example.org')?.reason, 'softBounce');
      assert.equal(list.has('slow@contoso.example'), false);
      assert.equal(list.softBounceCount('slow@contoso.example'), 1);
      await list.close();
    });

    it('ignores bounces for addresses the ledger never mailed, and messages that are not bounces', async () => {
      const { out, caught } = await deploy();
      const [forged, autoReply, text] = await feed(out, [
        dsn('postfix-user-unknown'),
        'From: ann@example.com\r\nSubject: Out of office\r\n\r\nBack on Monday.\r\n',
        'Reporting-MTA: dns; mx.example\n\nFinal-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n',
      ]);
      assert.deepEqual(forged.map(({ email, outcome }) => [email, outcome]), [['nobody@example.com', 'ignored']]);
      assert.deepEqual(autoReply, []);
      assert.deepEqual(text.map(({ outcome }) => outcome), ['ignored']);
      assert.deepEqual(out.slice(-3).map((msg) => (msg as unknown as { consent: { status: string } }).consent.status), ['bounce', 'notABounce', 'bounce']);
      helper.getNode('suppress').receive({ payload: Buffer.alloc(1024 * 1024 + 1, 'a') } as never);
      await waitUntil(() => caught.length === 1, 5000, 'the error');
      assert.equal((caught[0] as unknown as { error: { code: string } }).error.code, 'bounceTooLarge');
      const list = await suppressionFile();
      assert.equal(list.size, 0);
      await list.close();
    });

    it('records bounces for any address when told to', async () => {
      const { out } = await deploy({ bounces: 'any' });
      const [events] = await feed(out, [dsn('postfix-user-unknown')]);
      assert.deepEqual(events.map(({ email, campaign, outcome }) => [email, campaign, outcome]), [['nobody@example.com', '', 'suppressed']]);
    });
  });

  describe('provider webhooks', () => {
    const PASSWORD = 'webhook-password-for-tests';
    const basic = (password: string) => `Basic ${Buffer.from(`hook:${password}`).toString('base64')}`;
    const post = (body: string, headers: Record<string, string>) => request('/unsubscribe', { method: 'POST', body, headers });
    const sesBounce = (email: string, bounceType: string) => JSON.stringify({
      Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:eu-west-1:123:ses',
      Message: JSON.stringify({
        notificationType: 'Bounce',
        bounce: { bounceType, bounceSubType: 'General', bouncedRecipients: [{ emailAddress: email, diagnosticCode: 'smtp; 550 5.1.1 user unknown' }] },
        mail: { commonHeaders: { messageId: '<abc@shop.example>' } },
      }),
    });

    async function ledgerOf(records: Array<[string, string]>): Promise<void> {
      const ledger = await SendLedger.open(join(userDir, DEFAULT_LEDGER_FILE));
      for (const [campaign, to] of records) await ledger.append({ campaign, to, state: 'sent', at: new Date().toISOString(), messageId: '<abc@shop.example>' });
      await ledger.close();
    }

    it('records SES bounces and complaints posted by SNS, with HTTP Basic authentication', async () => {
      await ledgerOf([['spring', 'gone@example.com'], ['spring', 'angry@example.com'], ['spring', 'slow@example.com']]);
      await deploy({}, { unsubscribeSecret: SECRET }, { webhookPassword: PASSWORD });
      // SNS posts its JSON as text/plain.
      const headers = { 'Content-Type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification', Authorization: basic(PASSWORD) };
      const hard = await post(sesBounce('Gone@Example.com', 'Permanent'), headers);
      assert.equal(hard.status, 200, hard.text);
      assert.match(hard.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual((JSON.parse(hard.text) as { events: Array<{ email: string; kind: string; campaign: string; outcome: string }> }).events
        .map(({ email, kind, campaign, outcome }) => [email, kind, campaign, outcome]), [['gone@example.com', 'hardBounce', 'spring', 'suppressed']]);
      const soft = await post(sesBounce('slow@example.com', 'Transient'), headers);
      assert.match(soft.text, /"outcome":"counted","softBounces":1/);
      const complaint = await post(JSON.stringify({
        Type: 'Notification',
        Message: JSON.stringify({ notificationType: 'Complaint', complaint: { complainedRecipients: [{ emailAddress: 'angry@example.com' }], complaintFeedbackType: 'abuse' }, mail: {} }),
      }), headers);
      assert.match(complaint.text, /"kind":"complaint".*"outcome":"suppressed"/);
      const list = await suppressionFile();
      assert.deepEqual([list.lookup('gone@example.com')?.reason, list.lookup('angry@example.com')?.reason, list.has('slow@example.com')], ['hardBounce', 'complaint', false]);
      await list.close();
    });

    it('records SendGrid events, and refuses webhook requests without the password (401) or while none is set (503)', async () => {
      await ledgerOf([['spring', 'a@example.com'], ['spring', 'h@example.com'], ['spring', 'i@example.com']]);
      await deploy({}, { unsubscribeSecret: SECRET }, { webhookPassword: PASSWORD });
      const events = JSON.stringify([
        { email: 'a@example.com', event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 no such user' },
        { email: 'h@example.com', event: 'spamreport' },
        { email: 'i@example.com', event: 'group_unsubscribe' },
        { email: 'stranger@example.com', event: 'spamreport' },
        { email: 'a@example.com', event: 'delivered' },
      ]);
      const refused = await post(events, { 'Content-Type': 'application/json' });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Basic realm="marketing-suppress"');
      assert.equal((await post(events, { 'Content-Type': 'application/json', Authorization: basic('wrong password') })).status, 401);
      const accepted = await post(events, { 'Content-Type': 'application/json', Authorization: basic(PASSWORD) });
      assert.equal(accepted.status, 200, accepted.text);
      const body = JSON.parse(accepted.text) as { received: number; events: Array<{ email: string; kind: string; outcome: string }> };
      assert.equal(body.received, 4);
      assert.deepEqual(body.events.map(({ email, kind, outcome }) => `${email} ${kind} ${outcome}`), [
        'a@example.com hardBounce suppressed', 'h@example.com complaint suppressed', 'i@example.com unsubscribe suppressed', 'stranger@example.com complaint ignored',
      ]);
      // A confirmation URL that is not Amazon's is never visited.
      const confirmation = await post(JSON.stringify({ Type: 'SubscriptionConfirmation', SubscribeURL: 'https://127.0.0.1:1/confirm' }),
        { 'Content-Type': 'text/plain', 'x-amz-sns-message-type': 'SubscriptionConfirmation', Authorization: basic(PASSWORD) });
      assert.deepEqual([confirmation.status, JSON.parse(confirmation.text)], [200, { received: 0, events: [] }]);
      await helper.unload();
      await new Promise<void>((resolve) => (web as Server).close(() => resolve()));
      web = undefined;
      await deploy();
      assert.equal((await post(events, { 'Content-Type': 'application/json', Authorization: basic(PASSWORD) })).status, 503);
    });
  });
});
