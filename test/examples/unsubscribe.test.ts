/**
 * Example 05, "Unsubscribe and bounces", in a real Node-RED process loaded from its JSON file: as
 * imported it records nothing (every link is answered 503 until the configuration has an
 * unsubscribe secret); once the secret is set through the Admin API, as the editor would, a
 * mail program's one-click POST and a person's GET are answered in their language, and the
 * suppression lands in the user directory's list. In Chromium, the page of the link is in the
 * browser's language and its button unsubscribes. Then the flow's campaign honours the list: a
 * bounce dropped into the bounce folder, the sample bounce and a manual suppression each take an
 * address out of the next newsletter.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SUPPRESSION_FILE } from '../../lib/consent/suppression';
import { signUnsubscribeToken } from '../../lib/consent/token';
import { launchChromium } from '../support/browser';
import { readExample, type FlowNode } from '../support/examples';
import { startNodeRed, type RunningNodeRed } from '../support/node-red-process';
import { waitUntil } from '../support/red';

const EXAMPLE = '05 - Unsubscribe and bounces';
const SECRET = 'example-05-secret-for-tests-0123';

describe('example 05: unsubscribe and bounces', function () {
  this.timeout(120_000);
  let userDir: string;
  let red: RunningNodeRed;

  before(async () => {
    userDir = mkdtempSync(join(tmpdir(), 'marketing-example-05-'));
    red = await startNodeRed({ userDir, linkPackage: true, flows: readExample(EXAMPLE) });
    await red.waitForOutput(/Started flows/);
  });
  after(async () => {
    await red?.stop();
    rmSync(userDir, { recursive: true, force: true });
  });

  const token = (email: string) => signUnsubscribeToken({ email, campaign: 'spring', list: 'newsletter' }, SECRET);
  const oneClick = (value: string) => fetch(new URL(`unsubscribe?token=${value}`, red.url), {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click',
  });

  it('records nothing as imported: every link is answered 503', async () => {
    const answer = await oneClick(token('ann@example.com'));
    assert.equal(answer.status, 503);
    assert.match(await answer.text(), /not possible at the moment/);
  });

  it('with the secret set, records a one-click POST and answers a GET with a page in the contact\'s language', async () => {
    const flows = (await (await fetch(new URL('flows', red.url))).json()) as FlowNode[];
    const withSecret = flows.map((node) => (node.type === 'marketing-smtp' ? { ...node, credentials: { unsubscribeSecret: SECRET } } : node));
    const deployed = await fetch(new URL('flows', red.url), {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(withSecret),
    });
    assert.equal(deployed.status, 204, await deployed.text());
    await red.waitForOutput(/Started flows[\s\S]*Started flows/);

    const done = await oneClick(token('ann@example.com'));
    assert.equal(done.status, 200);
    assert.match(await done.text(), /You are unsubscribed/);
    const page = await fetch(new URL(`unsubscribe?token=${token('li@example.cn')}&lang=zh`, red.url));
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html lang="zh-CN">[\s\S]*<button type="submit">退订<\/button>/);
    const forged = await oneClick(signUnsubscribeToken({ email: 'bob@example.com', campaign: 'spring', list: '' }, 'not the secret of this flow'));
    assert.equal(forged.status, 403);

    const lines = readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8').trim().split('\n');
    assert.equal(lines.length, 1, 'only the one-click POST was recorded');
    assert.match(lines[0], /"email":"ann@example\.com","reason":"unsubscribe".*"campaign":"spring","list":"newsletter"/);
  });

  it('in Chromium: the link shows the page in the browser\'s language, and its button unsubscribes', async () => {
    const browser = await launchChromium();
    try {
      for (const [locale, email, confirm, button, done] of [
        ['zh-CN', 'wang@example.cn', '您确定不再接收这些邮件吗？', '退订', '您已退订'],
        ['en-GB', 'tom@example.com', 'Do you want to stop receiving these emails?', 'Unsubscribe', 'You are unsubscribed'],
      ]) {
        const context = await browser.newContext({ locale });
        const page = await context.newPage();
        const response = await page.goto(new URL(`unsubscribe?token=${token(email)}`, red.url).href);
        assert.equal(response?.status(), 200);
        assert.equal(await page.locator('p').innerText(), confirm);
        assert.equal(await page.getAttribute('html', 'lang'), locale === 'zh-CN' ? 'zh-CN' : 'en');
        assert.equal(readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8').includes(email), false, 'opening the link records nothing');
        await Promise.all([page.waitForURL(/unsubscribe\?token=/), page.getByRole('button', { name: button }).click()]);
        await page.locator('h1', { hasText: done }).waitFor();
        await context.close();
        assert.match(readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8'), new RegExp(`"email":"${email.replace('.', '\\.')}","reason":"unsubscribe"`));
      }
    } finally {
      await browser.close();
    }
  });

  it('bounces from the folder and the sample, and a manual suppression, take their addresses out of the next newsletter', async () => {
    const flow = readExample(EXAMPLE);
    const inject = async (name: string) => {
      const node = flow.find((n) => n.type === 'inject' && n.name === name) as FlowNode;
      const answer = await fetch(new URL(`inject/${node.id}`, red.url), { method: 'POST' });
      assert.equal(answer.status, 200, `${name}: ${await answer.text()}`);
    };
    const outbox = join(userDir, 'outbox');
    const mailed = () => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml')).map((f) => readFileSync(join(outbox, f), 'utf8')) : []);
    const suppressed = () => readFileSync(join(userDir, DEFAULT_SUPPRESSION_FILE), 'utf8');
    const recipients = (mails: string[]) => mails.map((mail) => /[^\s<>"]+@[^\s<>"]+/.exec(/^To: (.*)$/m.exec(mail)?.[1] ?? '')?.[0]).sort();

    // 1. The newsletter reaches all four (the secret was set by the test above).
    await inject('send the newsletter');
    await waitUntil(() => mailed().length === 4, 20_000, 'the first newsletter');
    assert.deepEqual(recipients(mailed()), ['grace.hall@example.com', 'omar.said@example.com', 'someone@example.com', 'wang.fang@example.cn']);
    assert.match(mailed()[0], /unsubscribe\?token=[\w.-]+/, 'a signed unsubscribe link');

    // 2. A bounce moved into the bounce folder (as a delivery agent would, whole), the sample bounce, a manual suppression.
    const bounce = readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'dsn', 'postfix-user-unknown.eml'), 'utf8').replace(/nobody@example\.com/g, 'omar.said@example.com');
    const draft = join(userDir, 'bounce.eml.part');
    writeFileSync(draft, bounce);
    renameSync(draft, join(userDir, 'bounces', 'bounce-1.eml'));
    await waitUntil(() => /"email":"omar\.said@example\.com","reason":"hardBounce"/.test(suppressed()), 20_000, 'the bounce from the folder');
    await inject('a bounce arrives');
    await waitUntil(() => /"email":"grace\.hall@example\.com","reason":"hardBounce"/.test(suppressed()), 20_000, 'the sample bounce');
    await inject('suppress by hand');
    await waitUntil(() => /"email":"someone@example\.com","reason":"manual"/.test(suppressed()), 20_000, 'the manual suppression');

    // 3. The next newsletter (a new campaign) reaches only the one address left.
    await inject('send the newsletter');
    await waitUntil(() => mailed().length === 5, 20_000, 'the second newsletter');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual(recipients(mailed()).filter((to) => to === 'wang.fang@example.cn').length, 2);
    assert.equal(mailed().length, 5, 'no email to a suppressed address');
  });
});
