/**
 * `marketing-smtp`: where the send-email nodes deliver. An SMTP server through one pooled
 * transport, or the file outbox; one transport per config node, shared by every send-email
 * node that uses it, and closed when the flows stop (redeploy, shutdown).
 */
import type { NodeAPI, NodeDef } from 'node-red';
import {
  createOutboxTransport,
  createSmtpTransport,
  DEFAULT_SMTP_SETTINGS,
  smtpSettingsWarnings,
  type MailTransport,
  type SmtpSecurity,
  type SmtpSettings,
} from '../../lib/email/transport';
import { checkSecret, DEFAULT_GRACE_DAYS, type TokenSecrets } from '../../lib/consent/token';
import { localiseError, numberOr, warnAboutOutboxLeftovers } from '../common';
import { outboxFolder, type SmtpConfigNode, type SmtpCredentials } from './provider';

interface SmtpNodeDef extends NodeDef {
  transport?: 'smtp' | 'outbox';
  host?: string;
  port?: string | number;
  security?: SmtpSecurity;
  rejectUnauthorized?: boolean;
  maxConnections?: string | number;
  rateLimit?: string | number;
  timeout?: string | number;
  dataTimeout?: string | number;
  probeInterval?: string | number;
  outbox?: string;
  unsubscribeGraceDays?: string | number;
}

/** The unsubscribe secrets of a config node, or what is wrong with them; undefined when none is set. */
function readSecrets(config: SmtpNodeDef, credentials: SmtpCredentials | undefined): TokenSecrets | undefined {
  const current = credentials?.unsubscribeSecret ?? '';
  const previous = credentials?.previousUnsubscribeSecret ?? '';
  if (!current && !previous) return undefined;
  checkSecret(current, 'current');
  if (previous) checkSecret(previous, 'previous');
  return { current, previous: previous || undefined, graceDays: Math.max(0, numberOr(config.unsubscribeGraceDays, DEFAULT_GRACE_DAYS)) };
}

export = function (RED: NodeAPI) {
  function MarketingSmtpNode(this: SmtpConfigNode, config: SmtpNodeDef) {
    RED.nodes.createNode(this, config);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- Node-RED's idiom: the closures below act on the node
    const node = this;
    const kind = config.transport === 'smtp' ? 'smtp' : 'outbox';
    let transport: MailTransport | Error;
    let describe: string;
    if (kind === 'outbox') {
      const folder = outboxFolder(RED, config.outbox);
      const outbox = createOutboxTransport(folder);
      if (outbox.leftovers) warnAboutOutboxLeftovers(RED, node, 'smtp', outbox.leftovers, folder);
      transport = outbox;
      describe = folder;
    } else {
      const settings: SmtpSettings = {
        host: (config.host ?? '').trim(),
        port: Math.floor(numberOr(config.port, DEFAULT_SMTP_SETTINGS.port)),
        security: config.security ?? DEFAULT_SMTP_SETTINGS.security,
        rejectUnauthorized: config.rejectUnauthorized !== false,
        user: node.credentials?.user || undefined,
        password: node.credentials?.password || undefined,
        maxConnections: Math.max(1, Math.floor(numberOr(config.maxConnections, DEFAULT_SMTP_SETTINGS.maxConnections))),
        rateLimit: Math.max(0, numberOr(config.rateLimit, 0)),
        timeoutMs: Math.max(0.1, numberOr(config.timeout, DEFAULT_SMTP_SETTINGS.timeoutMs / 1000)) * 1000,
        dataTimeoutMs: Math.max(0.1, numberOr(config.dataTimeout, DEFAULT_SMTP_SETTINGS.dataTimeoutMs / 1000)) * 1000,
        breaker: {
          ...DEFAULT_SMTP_SETTINGS.breaker,
          probeIntervalMs: Math.max(0.1, numberOr(config.probeInterval, DEFAULT_SMTP_SETTINGS.breaker.probeIntervalMs / 1000)) * 1000,
        },
      };
      describe = `smtp://${settings.host}:${settings.port}`;
      try {
        transport = createSmtpTransport(settings);
        for (const warning of smtpSettingsWarnings(settings)) {
          node.warn(RED._(`smtp.warnings.${warning}`, { port: settings.port }));
        }
      } catch (err) {
        transport = localiseError(RED, 'smtp', err);
        node.error(transport.message);
      }
    }
    let unsubscribeSecrets: TokenSecrets | Error | undefined;
    try {
      unsubscribeSecrets = readSecrets(config, node.credentials);
    } catch (err) {
      unsubscribeSecrets = localiseError(RED, 'smtp', err);
      node.error(unsubscribeSecrets.message);
    }
    Object.defineProperty(node, 'transport', { value: transport, enumerable: false });
    Object.defineProperty(node, 'unsubscribeSecrets', { value: unsubscribeSecrets, enumerable: false });
    Object.defineProperty(node, 'describe', { value: describe, enumerable: false });

    node.on('close', (_removed: boolean, done: () => void) => {
      if (transport instanceof Error) return done();
      transport.close().then(done, done);
    });
  }

  RED.nodes.registerType<SmtpConfigNode, SmtpNodeDef, unknown, SmtpCredentials>('marketing-smtp', MarketingSmtpNode, {
    credentials: {
      user: { type: 'text' },
      password: { type: 'password' },
      unsubscribeSecret: { type: 'password' },
      previousUnsubscribeSecret: { type: 'password' },
    },
  });
};
