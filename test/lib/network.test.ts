import assert from 'node:assert/strict';
import { isTlsErrorCode } from '../../lib/network';

describe('isTlsErrorCode', () => {
  it('names the handshake and certificate failures of Node and OpenSSL, for SMTP and HTTP alike', () => {
    for (const code of ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED', 'EPROTO']) {
      assert.equal(isTlsErrorCode(code), true, code);
    }
    for (const code of ['', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'UND_ERR_SOCKET']) assert.equal(isTlsErrorCode(code), false, code);
  });
});
