import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  DEFAULT_GRACE_DAYS, MAX_TOKEN_LENGTH, signUnsubscribeToken, verifyUnsubscribeToken, type TokenSecrets,
} from '../../lib/consent/token';
import { isMarketingError } from '../../lib/errors';

const SECRET = 'correct horse battery staple 42';
const OLD_SECRET = 'the secret before the rotation';
const DAY = 24 * 60 * 60 * 1000;
const now = Date.parse('2026-12-07T12:00:00Z');
const secrets: TokenSecrets = { current: SECRET, graceDays: DEFAULT_GRACE_DAYS };
const claims = { email: 'Ann.Lee@Example.com', campaign: 'spring', list: 'newsletter' };

/** `token` with one character of its MAC (`mac`) or payload changed. */
function tamper(token: string, part: 'mac' | 'payload', index: number): string {
  const [payload, mac] = token.split('.');
  const flip = (text: string) => text.slice(0, index) + (text[index] === 'A' ? 'B' : 'A') + text.slice(index + 1);
  return part === 'mac' ? `${payload}.${flip(mac)}` : `${flip(payload)}.${mac}`;
}

describe('lib/consent/token', () => {
  it('verifies its own tokens and gives back the normalised address, campaign, list and time', () => {
    const token = signUnsubscribeToken(claims, SECRET, now);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/, 'URL-safe as it is');
    assert.deepEqual(verifyUnsubscribeToken(token, secrets, now + 400 * DAY), {
      valid: true,
      signedWith: 'current',
      claims: { email: 'ann.lee@example.com', campaign: 'spring', list: 'newsletter', issuedAt: now },
    });
  });

  it('carries Chinese campaign and list names', () => {
    const token = signUnsubscribeToken({ email: 'li@example.cn', campaign: '春季促销', list: '会员通讯' }, SECRET, now);
    const verdict = verifyUnsubscribeToken(token, secrets, now);
    assert.ok(verdict.valid);
    assert.equal(verdict.claims.campaign, '春季促销');
    assert.equal(verdict.claims.list, '会员通讯');
  });

  it('refuses tokens of another secret, changed payloads and changed MACs as forged', () => {
    const token = signUnsubscribeToken(claims, SECRET, now);
    assert.deepEqual(verifyUnsubscribeToken(signUnsubscribeToken(claims, 'somebody else\'s secret!', now), secrets, now), { valid: false, reason: 'forged' });
    for (const index of [0, 10, 20]) {
      assert.deepEqual(verifyUnsubscribeToken(tamper(token, 'payload', index), secrets, now), { valid: false, reason: 'forged' }, `payload ${index}`);
    }
    for (const index of [0, 21, 42]) {
      assert.deepEqual(verifyUnsubscribeToken(tamper(token, 'mac', index), secrets, now), { valid: false, reason: 'forged' }, `MAC ${index}`);
    }
    // Someone else's address with this token's MAC
    const [, mac] = token.split('.');
    const other = Buffer.from(JSON.stringify([1, 'bob@example.com', 'spring', 'newsletter', now / 1000])).toString('base64url');
    assert.deepEqual(verifyUnsubscribeToken(`${other}.${mac}`, secrets, now), { valid: false, reason: 'forged' });
    // A short MAC, an empty one, a MAC of the right length made of zeros
    assert.deepEqual(verifyUnsubscribeToken(`${token.split('.')[0]}.${mac.slice(0, 20)}`, secrets, now), { valid: false, reason: 'forged' });
    assert.deepEqual(verifyUnsubscribeToken(`${token.split('.')[0]}.${Buffer.alloc(32).toString('base64url')}`, secrets, now), { valid: false, reason: 'forged' });
  });

  it('refuses malformed and oversized tokens without looking further', () => {
    for (const bad of [undefined, null, 42, {}, '', '.', 'abc', 'a.b.c', '.abc', 'ab c.def', 'abc.d+f', 'abc.d/f', 'abc.d=']) {
      assert.deepEqual(verifyUnsubscribeToken(bad, secrets, now), { valid: false, reason: 'malformed' }, JSON.stringify(bad));
    }
    assert.deepEqual(verifyUnsubscribeToken('a'.repeat(MAX_TOKEN_LENGTH + 1), secrets, now), { valid: false, reason: 'tooLong' });
  });

  it('refuses a signed payload of the wrong shape, and one issued in the future', () => {
    const signed = (value: unknown) => {
      const payload = Buffer.from(JSON.stringify(value)).toString('base64url');
      return `${payload}.${crypto.createHmac('sha256', SECRET).update('marketing-unsubscribe.v1.').update(payload).digest('base64url')}`;
    };
    assert.ok(verifyUnsubscribeToken(signed([1, 'ann@example.com', 'c', 'l', now / 1000]), secrets, now).valid, 'the helper signs as the module does');
    for (const value of [[2, 'ann@example.com', 'c', 'l', 1], [1, 'no-at-sign', 'c', 'l', 1], [1, 'a@b', 5, 'l', 1], [1, 'a@b', 'c', 'l', -1], { email: 'a@b' }]) {
      assert.deepEqual(verifyUnsubscribeToken(signed(value), secrets, now), { valid: false, reason: 'forged' }, JSON.stringify(value));
    }
    assert.deepEqual(verifyUnsubscribeToken(signUnsubscribeToken(claims, SECRET, now + DAY), secrets, now), { valid: false, reason: 'forged' });
  });

  it('accepts tokens of the previous secret for the grace period after their issue, then refuses them as expired', () => {
    const rotated: TokenSecrets = { current: SECRET, previous: OLD_SECRET, graceDays: 30 };
    const old = signUnsubscribeToken(claims, OLD_SECRET, now);
    assert.deepEqual(verifyUnsubscribeToken(old, secrets, now + DAY), { valid: false, reason: 'forged' }, 'without the previous secret');
    const within = verifyUnsubscribeToken(old, rotated, now + 29 * DAY);
    assert.ok(within.valid);
    assert.equal(within.signedWith, 'previous');
    assert.equal(within.claims.email, 'ann.lee@example.com');
    assert.deepEqual(verifyUnsubscribeToken(old, rotated, now + 31 * DAY), { valid: false, reason: 'expired' });
    // The current secret's tokens are not limited by the grace period.
    const current = verifyUnsubscribeToken(signUnsubscribeToken(claims, SECRET, now), rotated, now + 1000 * DAY);
    assert.ok(current.valid);
    assert.equal(current.signedWith, 'current');
  });

  it('compares every MAC with timingSafeEqual, for both secrets, whatever is wrong with it', () => {
    const original = crypto.timingSafeEqual;
    let calls = 0;
    crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      calls++;
      return original(a, b);
    }) as typeof crypto.timingSafeEqual;
    try {
      const rotated: TokenSecrets = { current: SECRET, previous: OLD_SECRET, graceDays: 30 };
      const token = signUnsubscribeToken(claims, SECRET, now);
      const [payload, mac] = token.split('.');
      for (const candidate of [token, tamper(token, 'mac', 0), tamper(token, 'mac', 42), `${payload}.${mac.slice(0, 5)}`]) {
        calls = 0;
        verifyUnsubscribeToken(candidate, rotated, now);
        assert.equal(calls, 2, candidate);
      }
    } finally {
      crypto.timingSafeEqual = original;
    }
  });

  it('refuses to sign with a short secret', () => {
    assert.throws(() => signUnsubscribeToken(claims, 'short', now), (err: unknown) => isMarketingError(err) && err.code === 'secretTooShort');
  });
});
