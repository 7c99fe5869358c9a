import assert from 'node:assert/strict';
import { basicAuthMatches, isSnsUrl, readSendGridEvents, readSesMessage, readWebhook } from '../../lib/consent/webhooks';

/** SES notifications as Amazon documents them (bounce, complaint, delivery). */
export const SES_BOUNCE = {
  notificationType: 'Bounce',
  bounce: {
    bounceType: 'Permanent', bounceSubType: 'General',
    bouncedRecipients: [{ emailAddress: 'Gone@Example.com', action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' }],
    timestamp: '2026-12-07T10:00:00.000Z', feedbackId: 'x',
  },
  mail: { messageId: 'ses-id', source: 'news@shop.example', commonHeaders: { messageId: '<abc@shop.example>' } },
};
export const SES_COMPLAINT = {
  notificationType: 'Complaint',
  complaint: { complainedRecipients: [{ emailAddress: 'angry@example.com' }], complaintFeedbackType: 'abuse', timestamp: '2026-12-07T10:00:00.000Z' },
  mail: { messageId: 'ses-id-2', headers: [{ name: 'Message-ID', value: '<def@shop.example>' }] },
};

describe('lib/consent/webhooks', () => {
  it('maps SES bounces and complaints, with the Message-ID of the email', () => {
    assert.deepEqual(readSesMessage(JSON.stringify(SES_BOUNCE)), [
      { email: 'gone@example.com', kind: 'hardBounce', detail: 'Permanent/General smtp; 550 5.1.1 user unknown', messageId: '<abc@shop.example>' },
    ]);
    assert.deepEqual(readSesMessage({ ...SES_BOUNCE, bounce: { ...SES_BOUNCE.bounce, bounceType: 'Transient' } }).map((event) => event.kind), ['softBounce']);
    assert.deepEqual(readSesMessage({ ...SES_BOUNCE, bounce: { ...SES_BOUNCE.bounce, bounceType: 'Undetermined' } }).map((event) => event.kind), ['softBounce']);
    assert.deepEqual(readSesMessage(SES_COMPLAINT), [{ email: 'angry@example.com', kind: 'complaint', detail: 'abuse', messageId: '<def@shop.example>' }]);
    assert.deepEqual(readSesMessage({ eventType: 'Complaint', complaint: SES_COMPLAINT.complaint, mail: {} }).map((event) => event.kind), ['complaint'], 'event publishing');
    assert.deepEqual(readSesMessage({ notificationType: 'Delivery', delivery: { recipients: ['ann@example.com'] }, mail: {} }), []);
    assert.deepEqual(readSesMessage('not json'), []);
  });

  it('maps SendGrid events, and leaves the others out', () => {
    const events = readSendGridEvents(JSON.stringify([
      { email: 'a@example.com', event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 no such user', 'smtp-id': '<a@shop.example>' },
      { email: 'b@example.com', event: 'bounce', type: 'blocked', status: '5.7.1', reason: 'blocked' },
      { email: 'c@example.com', event: 'deferred', response: '451 try later' },
      { email: 'd@example.com', event: 'dropped', reason: 'Bounced Address' },
      { email: 'e@example.com', event: 'dropped', reason: 'Spam Reporting Address' },
      { email: 'f@example.com', event: 'dropped', reason: 'Unsubscribed Address' },
      { email: 'g@example.com', event: 'dropped', reason: 'Invalid SMTPAPI header' },
      { email: 'h@example.com', event: 'spamreport' },
      { email: 'i@example.com', event: 'group_unsubscribe', asm_group_id: 1 },
      { email: 'j@example.com', event: 'delivered' },
      { email: 'not an address', event: 'bounce' },
    ]));
    assert.deepEqual(events.map(({ email, kind }) => `${email} ${kind}`), [
      'a@example.com hardBounce', 'b@example.com softBounce', 'c@example.com softBounce', 'd@example.com hardBounce',
      'e@example.com complaint', 'f@example.com unsubscribe', 'h@example.com complaint', 'i@example.com unsubscribe',
    ]);
    assert.equal(events[0].messageId, '<a@shop.example>');
  });

  it('tells SNS messages and SendGrid arrays apart from anything else', () => {
    const envelope = { Type: 'Notification', Message: JSON.stringify(SES_COMPLAINT) };
    const ses = readWebhook({ 'x-amz-sns-message-type': 'Notification' }, JSON.stringify(envelope));
    assert.ok(ses && 'events' in ses && ses.events.length === 1);
    assert.deepEqual(readWebhook({ 'x-amz-sns-message-type': 'SubscriptionConfirmation' }, { SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x' }),
      { provider: 'ses', type: 'subscriptionConfirmation', subscribeUrl: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=x' });
    assert.deepEqual(readWebhook({ 'x-amz-sns-message-type': 'SubscriptionConfirmation' }, { SubscribeURL: 'https://evil.example/?sns.eu-west-1.amazonaws.com' }), { provider: 'ses', type: 'other' });
    assert.equal(readWebhook({}, [{ email: 'a@example.com', event: 'open' }])?.provider, 'sendgrid');
    assert.equal(readWebhook({}, { token: 'x' }), undefined);
    assert.equal(readWebhook({}, 'List-Unsubscribe=One-Click'), undefined);
  });

  it('accepts only Amazon\'s own HTTPS confirmation URLs', () => {
    assert.equal(isSnsUrl('https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription'), true);
    assert.equal(isSnsUrl('https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription'), true);
    for (const url of ['http://sns.us-east-1.amazonaws.com/', 'https://sns.us-east-1.amazonaws.com.evil.example/', 'https://user@sns.us-east-1.amazonaws.com/', 'https://sns.us-east-1.amazonaws.com:8443/', 'https://127.0.0.1/', 42]) {
      assert.equal(isSnsUrl(url), false, String(url));
    }
  });

  it('checks HTTP Basic authentication against the password, any user name', () => {
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    assert.equal(basicAuthMatches(basic('hook:s3cret-password'), 's3cret-password'), true);
    assert.equal(basicAuthMatches(basic('other:s3cret-password'), 's3cret-password'), true);
    assert.equal(basicAuthMatches(basic('hook:wrong'), 's3cret-password'), false);
    assert.equal(basicAuthMatches(basic('s3cret-password'), 's3cret-password'), false, 'no colon');
    assert.equal(basicAuthMatches('Bearer s3cret-password', 's3cret-password'), false);
    assert.equal(basicAuthMatches(undefined, 's3cret-password'), false);
    assert.equal(basicAuthMatches(basic('hook:'), ''), false, 'no password set: nothing matches');
  });
});
