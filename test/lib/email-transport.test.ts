import assert from 'node:assert/strict';
import { DEFAULT_SMTP_SETTINGS, smtpPoolOptions, smtpSettingsWarnings, validateSmtpSettings, type SmtpSettings } from '../../lib/email/transport';

const settings: SmtpSettings = { ...DEFAULT_SMTP_SETTINGS, host: 'smtp.example.com' };

describe('lib/email/transport', () => {
  it('maps the four security modes onto nodemailer options', () => {
    const pick = (security: SmtpSettings['security']) => {
      const { secure, requireTLS, opportunisticTLS, ignoreTLS } = smtpPoolOptions({ ...settings, security }).connection;
      return { secure, requireTLS, opportunisticTLS, ignoreTLS };
    };
    assert.deepEqual(pick('tls'), { secure: true, requireTLS: false, opportunisticTLS: false, ignoreTLS: false });
    assert.deepEqual(pick('starttls'), { secure: false, requireTLS: true, opportunisticTLS: false, ignoreTLS: false });
    assert.deepEqual(pick('starttls-if-offered'), { secure: false, requireTLS: false, opportunisticTLS: true, ignoreTLS: false });
    assert.deepEqual(pick('none'), { secure: false, requireTLS: false, opportunisticTLS: false, ignoreTLS: true });
  });

  it('pools connections and applies limits, timeouts and credentials', () => {
    const options = smtpPoolOptions({ ...settings, maxConnections: 3, rateLimit: 10, timeoutMs: 5000, user: 'u', password: 'p', rejectUnauthorized: false });
    assert.equal(options.maxConnections, 3);
    assert.equal(options.rateLimit, 10);
    const { connectionTimeout, greetingTimeout, socketTimeout, tls } = options.connection;
    assert.deepEqual([connectionTimeout, greetingTimeout, socketTimeout], [5000, 5000, 5000]);
    assert.equal(options.dataTimeoutMs, 600_000, 'the reply to the end of a message is waited for 10 minutes by default');
    assert.equal(smtpPoolOptions({ ...settings, dataTimeoutMs: 90_000 }).dataTimeoutMs, 90_000);
    assert.deepEqual(options.auth, { user: 'u', pass: 'p' });
    assert.deepEqual(tls, { rejectUnauthorized: false });
    assert.equal(smtpPoolOptions(settings).rateLimit, 0, 'no limit by default');
    assert.equal(smtpPoolOptions(settings).auth, undefined);
  });

  it('warns about settings that are legal but almost always wrong', () => {
    assert.deepEqual(smtpSettingsWarnings({ ...settings, port: 587, security: 'tls' }), ['implicitTlsOn587']);
    assert.deepEqual(smtpSettingsWarnings({ ...settings, port: 465, security: 'starttls' }), ['plainOn465']);
    assert.deepEqual(smtpSettingsWarnings({ ...settings, port: 25, security: 'none', user: 'u' }), ['credentialsInClear']);
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LocalHost']) {
      assert.deepEqual(smtpSettingsWarnings({ ...settings, host, port: 25, security: 'none', user: 'u' }), [], host);
    }
    assert.deepEqual(smtpSettingsWarnings({ ...settings, rejectUnauthorized: false }), ['unverifiedCertificates']);
    assert.deepEqual(smtpSettingsWarnings(settings), []);
  });

  it('refuses settings that could never work', () => {
    assert.throws(() => validateSmtpSettings({ ...settings, host: ' ' }), { code: 'noHost' });
    assert.throws(() => validateSmtpSettings({ ...settings, port: 70000 }), { code: 'badPort' });
    assert.throws(() => validateSmtpSettings({ ...settings, security: 'ssl' as never }), { code: 'badSecurity' });
  });
});
