import assert from 'node:assert/strict';
import { classifyDeliveryError, retryDelay, type RetryPolicy } from '../../lib/email/retry';

describe('lib/email/retry', () => {
  it('retries 4xx replies and broken connections, not 5xx replies, authentication or TLS failures', () => {
    const cases: Array<[unknown, boolean, string]> = [
      [{ code: 'EENVELOPE', responseCode: 451, response: '451 try later' }, true, 'deferred'],
      [{ code: 'ECONNECTION', responseCode: 421, response: '421 too busy' }, true, 'deferred'],
      [{ code: 'EENVELOPE', responseCode: 550, response: '550 no such user' }, false, 'rejected'],
      [{ code: 'EMESSAGE', responseCode: 552, response: '552 too big' }, false, 'rejected'],
      [{ code: 'EPROTOCOL', responseCode: 503, response: '503 bad sequence' }, true, 'deferred'],
      [{ code: 'EAUTH', responseCode: 535, response: '535 invalid' }, false, 'authFailed'],
      [{ code: 'EAUTH', response: 'no mechanism' }, false, 'authFailed'],
      [{ code: 'EAUTH', responseCode: 454, response: '454 temporary' }, true, 'deferred'],
      [{ code: 'ESOCKET', originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' }, false, 'tlsFailed'],
      [{ code: 'ESOCKET', library: 'SSL routines', message: 'wrong version number' }, false, 'tlsFailed'],
      [{ code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:25' }, true, 'connection'],
      [{ code: 'ETIMEDOUT', message: 'Greeting never received' }, true, 'connection'],
      [{ code: 'ECONNECTION', message: 'Connection closed unexpectedly' }, true, 'connection'],
      [{ code: 'EDNS', message: 'getaddrinfo EAI_AGAIN' }, true, 'connection'],
      [new Error('something else'), false, 'deliveryError'],
      ['a string', false, 'deliveryError'],
    ];
    for (const [err, transient, code] of cases) {
      const failure = classifyDeliveryError(err);
      assert.equal(failure.transient, transient, JSON.stringify(err));
      assert.equal(failure.error.code, code, JSON.stringify(err));
    }
    assert.equal(classifyDeliveryError({ responseCode: 550, response: '550 5.1.1 no such user\r\nmore' }).error.params.response, '550 5.1.1 no such user');
  });

  it('tells an unknown outcome (no reply after the final ".") and a failure to connect from other failures', () => {
    const late = classifyDeliveryError({ code: 'ETIMEDOUT', message: 'Timeout', endOfDataSent: true });
    assert.deepEqual([late.error.code, late.unknownOutcome, late.connection ?? false], ['unknownOutcome', true, false]);
    const answered = classifyDeliveryError({ code: 'EMESSAGE', responseCode: 451, response: '451 try later', endOfDataSent: true });
    assert.deepEqual([answered.error.code, answered.unknownOutcome], ['deferred', undefined], 'a reply to the "." is a verdict');
    assert.equal(classifyDeliveryError({ code: 'ETIMEDOUT', message: 'Greeting never received', connectFailed: true }).connection, true);
    assert.equal(classifyDeliveryError({ code: 'ETIMEDOUT', message: 'Timeout' }).connection, false, 'a timeout mid-dialogue: the server is up');
  });

  const policy: RetryPolicy = { maxAttempts: 5, maxElapsedMs: 60_000, baseDelayMs: 1000, maxDelayMs: 5000 };

  it('backs off exponentially with jitter, capped per wait', () => {
    assert.equal(retryDelay(policy, 2, 0, () => 0), 500);
    assert.equal(retryDelay(policy, 2, 0, () => 1), 1000);
    assert.equal(retryDelay(policy, 3, 0, () => 1), 2000);
    assert.equal(retryDelay(policy, 4, 0, () => 0.5), 3000);
    assert.equal(retryDelay(policy, 5, 0, () => 1), 5000, 'capped at maxDelayMs');
  });

  it('gives up after the attempt count or the total time', () => {
    assert.equal(retryDelay(policy, 6, 0, () => 0), undefined);
    assert.equal(retryDelay(policy, 2, 59_800, () => 0), undefined);
    assert.equal(retryDelay({ ...policy, maxAttempts: 1 }, 2, 0), undefined);
  });
});
