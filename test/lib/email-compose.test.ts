import assert from 'node:assert/strict';
import { DEFAULT_COMPOSE_SETTINGS, EmailComposer, type ComposeSettings, type EmailTemplates } from '../../lib/email/compose';
import type { MarketingError } from '../../lib/errors';

const templates: EmailTemplates = {
  subject: 'Hello {{contact.firstName|there}}',
  text: '',
  html: '',
  unsubscribeUrl: '',
};
const settings: ComposeSettings = { ...DEFAULT_COMPOSE_SETTINGS, from: 'news@shop.example', fromName: 'Shop News' };

function composer(overrides: Partial<EmailTemplates> = {}, settingOverrides: Partial<ComposeSettings> = {}): EmailComposer {
  return new EmailComposer({ ...templates, ...overrides }, { ...settings, ...settingOverrides });
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (err) {
    return (err as MarketingError).code;
  }
  return 'no error';
}

describe('lib/email/compose', () => {
  it('addresses the contact, renders subject and the default text body from the payload', () => {
    const result = composer().compose({ contact: { email: ' Ann@Example.com ', firstName: 'Ann', name: 'Ann Lee' }, payload: 'Spring is here' }, 'spring');
    assert.equal(result.kind, 'mail');
    if (result.kind !== 'mail') return;
    assert.equal(result.to, 'ann@example.com');
    assert.deepEqual(result.mail.to, { name: 'Ann Lee', address: 'Ann@Example.com' });
    assert.deepEqual(result.mail.from, { name: 'Shop News', address: 'news@shop.example' });
    assert.equal(result.mail.subject, 'Hello Ann');
    assert.equal(result.mail.text, 'Spring is here');
    assert.equal(result.mail.html, undefined);
    assert.match(String(result.mail.messageId), /^<[0-9a-f]{32}@shop\.example>$/);
  });

  it('gives the same key the same Message-ID, and another key another one', () => {
    const c = composer();
    const id = (email: string, campaign: string) => (c.compose({ contact: { email } }, campaign) as { mail: { messageId: string } }).mail.messageId;
    assert.equal(id('a@example.com', 'x'), id('A@example.com ', 'x'));
    assert.notEqual(id('a@example.com', 'x'), id('a@example.com', 'y'));
    assert.notEqual(id('a@example.com', 'x'), id('b@example.com', 'x'));
    const random = composer({}, { stableMessageId: false }).compose({ contact: { email: 'a@example.com' } }, 'x');
    assert.equal((random as { mail: { messageId?: string } }).mail.messageId, undefined);
  });

  it('falls back to msg.to, reads nested fields, and uses configured fields', () => {
    const byTo = composer().compose({ to: 'bob@example.com', payload: 'x' }, 'c');
    assert.equal(byTo.kind === 'mail' && byTo.to, 'bob@example.com');
    const nested = composer({}, { recipientField: 'emails.work', nameField: '' }).compose({ contact: { emails: { work: 'w@example.com' }, name: 'W' } }, 'c');
    assert.equal(nested.kind === 'mail' && nested.mail.to, 'w@example.com');
  });

  it('escapes values in the HTML body only', () => {
    const result = composer({ subject: '{{contact.company}}', text: 'Dear {{contact.company}}', html: '<p>Dear {{contact.company}}</p>' })
      .compose({ contact: { email: 'a@example.com', company: 'Smith & <Sons>' } }, 'c');
    assert.equal(result.kind, 'mail');
    if (result.kind !== 'mail') return;
    assert.equal(result.mail.subject, 'Smith & <Sons>');
    assert.equal(result.mail.text, 'Dear Smith & <Sons>');
    assert.equal(result.mail.html, '<p>Dear Smith &amp; &lt;Sons&gt;</p>');
  });

  it('builds the unsubscribe URL with encoded values, adds one-click for https, and offers it to templates', () => {
    const c = composer({ unsubscribeUrl: 'https://shop.example/u?e={{contact.email}}&c={{campaign}}', text: 'Bye: {{unsubscribeUrl}}', html: '<a href="{{unsubscribeUrl}}">x</a>' });
    const result = c.compose({ contact: { email: 'a+b@example.com' } }, 'spring sale');
    assert.equal(result.kind, 'mail');
    if (result.kind !== 'mail') return;
    const url = 'https://shop.example/u?e=a%2Bb%40example.com&c=spring%20sale';
    assert.deepEqual(result.mail.list, { unsubscribe: url });
    assert.deepEqual(result.mail.headers, { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' });
    assert.equal(result.mail.text, `Bye: ${url}`);
    // mustache's HTML escaping also writes / and = as entities, which browsers decode in attributes
    const decoded = String(result.mail.html).replace(/&#x2F;/g, '/').replace(/&#x3D;/g, '=').replace(/&amp;/g, '&');
    assert.equal(decoded, `<a href="${url}">x</a>`);
    assert.ok(String(result.mail.html).includes('&amp;c'));
    const mailto = composer({ unsubscribeUrl: 'mailto:unsub@shop.example?subject={{contact.email}}' }).compose({ contact: { email: 'a@example.com' } }, 'c');
    assert.equal(mailto.kind === 'mail' && mailto.mail.headers, undefined, 'one-click is for https only');
    assert.equal(codeOf(() => composer({ unsubscribeUrl: '{{contact.url}}' }).compose({ contact: { email: 'a@example.com', url: 'javascript:alert(1)' } }, 'c')), 'invalidUnsubscribeUrl');
  });

  it('skips opted-out contacts with the segment node rule', () => {
    for (const unsubscribed of [true, 'yes', 1, 'TRUE']) {
      const result = composer().compose({ contact: { email: 'a@example.com', unsubscribed } }, 'c');
      assert.deepEqual(result, { kind: 'skip', reason: 'optedOut', to: 'a@example.com' });
    }
    assert.equal(composer({}, { optOutField: 'consent.optOut' }).compose({ contact: { email: 'a@example.com', consent: { optOut: 'y' } } }, 'c').kind, 'skip');
    assert.equal(composer().compose({ contact: { email: 'a@example.com', unsubscribed: false } }, 'c').kind, 'mail');
  });

  it('refuses messages that cannot be sent as they are', () => {
    const c = composer({ html: '<p>{{payload}}</p>' }, { maxBytes: 1000 });
    assert.equal(codeOf(() => c.compose({ payload: 'x' }, 'c')), 'noRecipient');
    assert.equal(codeOf(() => c.compose({ contact: { email: '' } }, 'c')), 'noRecipient');
    assert.equal(codeOf(() => c.compose({ contact: { email: 'not-an-address' } }, 'c')), 'invalidAddress');
    assert.equal(codeOf(() => c.compose({ to: 'a@example.com\r\nBcc: x@example.com' }, 'c')), 'invalidAddress');
    assert.equal(codeOf(() => c.compose({ to: 42 }, 'c')), 'invalidAddress');
    assert.equal(codeOf(() => c.compose({ contact: 'a@example.com' }, 'c')), 'invalidContact');
    assert.equal(codeOf(() => c.compose({ contact: ['a@example.com'] }, 'c')), 'invalidContact');
    assert.equal(codeOf(() => c.compose({ contact: { email: 'a@example.com', name: 'Ann\r\nBcc: x@example.com' } }, 'c')), 'headerInjection');
    assert.equal(codeOf(() => composer({ subject: 'Hi\nBcc: x@example.com' }).compose({ contact: { email: 'a@example.com' } }, 'c')), 'headerInjection');
    assert.equal(codeOf(() => c.compose({ to: 'a@example.com', payload: 'x'.repeat(600) }, 'c')), 'tooLarge');
  });

  it('keeps the subject on one line: line breaks in values become spaces, surrounding blanks go', () => {
    const result = composer({ subject: '{{payload}}' }).compose({ to: 'a@example.com', payload: ' Big news\n' }, 'c');
    assert.equal(result.kind === 'mail' && result.mail.subject, 'Big news');
    const injected = composer({ subject: 'Hi {{contact.s}}' }).compose({ contact: { email: 'a@example.com', s: 'Ann\r\nBcc: x@example.com' } }, 'c');
    assert.equal(injected.kind === 'mail' && injected.mail.subject, 'Hi Ann Bcc: x@example.com');
  });

  it('caps what may go into a header: 998 characters of subject, 200 of a name, 900 of unsubscribe URL', () => {
    const c = composer({ subject: 'Hello {{contact.firstName}}', unsubscribeUrl: 'https://shop.example/u?e={{contact.token}}' });
    const contact = (extra: Record<string, unknown>) => ({ contact: { email: 'a@example.com', firstName: 'Ann', token: 't', ...extra } });
    assert.equal(c.compose(contact({ firstName: 'x'.repeat(998 - 'Hello '.length), name: 'y'.repeat(200) }), 'c').kind, 'mail', 'at the limits');
    assert.throws(() => c.compose(contact({ firstName: 'x'.repeat(5000) }), 'c'), { code: 'headerTooLong', params: { field: 'subject', length: 5006, limit: 998 } });
    assert.throws(() => c.compose(contact({ name: 'y'.repeat(201) }), 'c'), { code: 'headerTooLong', params: { field: 'recipient name', length: 201, limit: 200 } });
    assert.throws(() => c.compose(contact({ token: 'z'.repeat(900) }), 'c'), { code: 'headerTooLong', params: { field: 'unsubscribe URL', length: 925, limit: 900 } });
    assert.throws(() => composer({}, { fromName: 'S'.repeat(201) }), { code: 'headerTooLong', params: { field: 'from name', length: 201, limit: 200 } });
  });

  it('hands nodemailer a subject with a long unbroken run as encoded words, which it can fold', () => {
    const result = composer({ subject: '{{contact.firstName}}' }).compose({ contact: { email: 'a@example.com', firstName: 'x'.repeat(200) } }, 'c');
    assert.ok(result.kind === 'mail');
    assert.match(String(result.mail.subject), /^=\?UTF-8\?Q\?x+\?=( =\?UTF-8\?Q\?x+\?=)+$/);
    const short = composer().compose({ contact: { email: 'a@example.com', firstName: 'Ann' } }, 'c');
    assert.ok(short.kind === 'mail');
    assert.equal(short.mail.subject, 'Hello Ann', 'ordinary text goes as it is');
  });

  it('lists the names its templates use', () => {
    const c = composer({ subject: '{{flow.offer}}', text: '{{payload}} {{env.SHOP}}', html: '<p>{{contact.firstName}}</p>' });
    assert.deepEqual([...c.names].sort(), ['contact.firstName', 'env.SHOP', 'flow.offer', 'payload']);
  });

  it('refuses bad sender settings and templates when compiled', () => {
    assert.equal(codeOf(() => composer({}, { from: 'nobody' })), 'invalidFrom');
    assert.equal(codeOf(() => composer({}, { fromName: 'Shop\r\nBcc: x@example.com' })), 'headerInjection');
    assert.equal(codeOf(() => composer({}, { replyTo: 'nope' })), 'invalidReplyTo');
    assert.equal(codeOf(() => composer({ html: '<p>{{#vip}}</p>' })), 'templateSyntax');
  });

  it('resolves flow, global and env names through the lookup', () => {
    const result = composer({ subject: '{{flow.offer}} for {{contact.firstName}}' })
      .compose({ contact: { email: 'a@example.com', firstName: 'Ann' } }, 'c', (name) => (name === 'flow.offer' ? '20% off' : undefined));
    assert.equal(result.kind === 'mail' && result.mail.subject, '20% off for Ann');
  });
});
