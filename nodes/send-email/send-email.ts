/**
 * `marketing-send-email`: composes each message from the contact and the templates, and
 * delivers it at most once per campaign and recipient (see lib/email/delivery.ts and the
 * README for the exact guarantee). Output 1: sent. Output 2: not sent (skipped, duplicate,
 * failed), failures also reported to Catch nodes through done(err).
 */
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { frequencyCapOf, isCapped, type FrequencyCap } from '../../lib/consent/frequency';
import { acquireSuppressionList, DEFAULT_SUPPRESSION_FILE } from '../../lib/consent/suppression';
import { signUnsubscribeToken } from '../../lib/consent/token';
import { DEFAULT_COMPOSE_SETTINGS, EmailComposer } from '../../lib/email/compose';
import { EmailDelivery, type DeliveryOutcome } from '../../lib/email/delivery';
import { acquireSendLedger, DEFAULT_LEDGER_FILE, type SendLedger } from '../../lib/email/ledger';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../lib/email/retry';
import { createOutboxTransport, type MailTransport, type OutboxLeftovers } from '../../lib/email/transport';
import { contextReferences, type ContextReference } from '../../lib/prompt';
import { MarketingError } from '../../lib/errors';
import { localiseError, numberOr, resolveTemplateReferences, showError, userDirectory, warnAboutOutboxLeftovers } from '../common';
import { outboxFolder, type TransportProvider } from '../smtp/provider';

interface SendEmailNodeDef extends NodeDef {
  smtp?: string;
  campaign?: string;
  from?: string;
  fromName?: string;
  replyTo?: string;
  recipientField?: string;
  nameField?: string;
  optOutField?: string;
  subject?: string;
  text?: string;
  html?: string;
  unsubscribeUrl?: string;
  /** The list the unsubscribe tokens name (the marketing-suppress node records it). */
  list?: string;
  ledger?: boolean;
  afterInterruption?: 'skip' | 'resend';
  retries?: string | number;
  retryWindow?: string | number;
  retryDelay?: string | number;
  maxSize?: string | number;
  /** Frequency cap: at most `capCount` emails to an address in `capDays` days, across campaigns ('' or 0: off). */
  capCount?: string | number;
  capDays?: string | number;
}

type EmailInfo = Record<string, unknown> & { status: 'sent' | 'skipped' | 'duplicate' | 'failed' };

interface Counters {
  received: number;
  sent: number;
  skipped: number;
  duplicate: number;
  failed: number;
}

/** What the node sends with, built once at deploy. */
interface Runtime {
  composer: EmailComposer;
  /** The frequency cap across campaigns, from the ledger's sent records; none when off. */
  cap: FrequencyCap | undefined;
  /** The flow, global and env names the templates use. */
  references: readonly ContextReference[];
  transport: MailTransport;
  /** Ready once the send ledger is open; rejects with the (localised) error that kept it shut. */
  delivery: Promise<EmailDelivery>;
  /** Stops the delivery, closes this node's own outbox and releases the ledger. */
  close(): Promise<void>;
}

/** The slowest the status may change: at thousands of messages a second, each update costs. */
const STATUS_INTERVAL_MS = 250;

export = function (RED: NodeAPI) {
  function MarketingSendEmailNode(this: Node, config: SendEmailNodeDef) {
    RED.nodes.createNode(this, config);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- Node-RED's idiom: the closures below act on the node
    const node = this;
    const campaign = (config.campaign ?? '').trim() || node.id;
    const useLedger = config.ledger !== false;
    const retry: RetryPolicy = {
      maxAttempts: 1 + Math.max(0, Math.floor(numberOr(config.retries, DEFAULT_RETRY_POLICY.maxAttempts - 1))),
      maxElapsedMs: Math.max(0, numberOr(config.retryWindow, DEFAULT_RETRY_POLICY.maxElapsedMs / 1000)) * 1000,
      baseDelayMs: Math.max(0, numberOr(config.retryDelay, DEFAULT_RETRY_POLICY.baseDelayMs / 1000)) * 1000,
      maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
    };
    const counters: Counters = { received: 0, sent: 0, skipped: 0, duplicate: 0, failed: 0 };
    const startedAt = new Date().toISOString();

    // Where messages go: the chosen marketing-smtp node's shared transport, or an outbox
    // of this node's own in the user directory (the embedded default).
    const provider = config.smtp ? (RED.nodes.getNode(config.smtp) as unknown as TransportProvider | null) : null;
    const destination = provider ? provider.describe : config.smtp ? '' : outboxFolder(RED, undefined);

    let openLedger: SendLedger | undefined;
    let reportedByConfigNode = false;

    /** Everything the node needs to send, built once at deploy; it throws what makes the node unusable. */
    function createRuntime(): Runtime {
      if (config.smtp && !provider) throw new Error(RED._('send-email.errors.noServer'));
      const secrets = provider?.unsubscribeSecrets;
      if (secrets instanceof Error) {
        reportedByConfigNode = true;
        throw secrets;
      }
      const list = (config.list ?? '').trim();
      const cap = frequencyCapOf(config.capCount, config.capDays);
      if (cap && !useLedger) throw new MarketingError('capNeedsLedger', 'The frequency cap counts the emails of the send ledger: turn the ledger on, or the cap off');
      const composer = new EmailComposer(
        { subject: config.subject ?? '', text: config.text ?? '', html: config.html ?? '', unsubscribeUrl: config.unsubscribeUrl ?? '' },
        {
          ...DEFAULT_COMPOSE_SETTINGS,
          from: config.from ?? '',
          fromName: config.fromName ?? '',
          replyTo: config.replyTo ?? '',
          recipientField: (config.recipientField ?? '').trim() || DEFAULT_COMPOSE_SETTINGS.recipientField,
          nameField: (config.nameField ?? DEFAULT_COMPOSE_SETTINGS.nameField).trim(),
          optOutField: (config.optOutField ?? '').trim() || DEFAULT_COMPOSE_SETTINGS.optOutField,
          maxBytes: Math.max(1, numberOr(config.maxSize, DEFAULT_COMPOSE_SETTINGS.maxBytes / 1024)) * 1024,
          stableMessageId: useLedger,
          unsubscribeToken: secrets ? (to, tokenCampaign) => signUnsubscribeToken({ email: to, campaign: tokenCampaign, list }, secrets.current) : undefined,
        },
      );
      let ownTransport: MailTransport | undefined;
      let transport: MailTransport;
      if (provider) {
        if (provider.transport instanceof Error) {
          reportedByConfigNode = true;
          throw provider.transport;
        }
        transport = provider.transport;
      } else {
        ownTransport = createOutboxTransport(destination);
        if (ownTransport.leftovers) warnAboutOutboxLeftovers(RED, node, 'send-email', ownTransport.leftovers, destination);
        transport = ownTransport;
      }
      const lease = useLedger ? acquireSendLedger(join(userDirectory(RED), DEFAULT_LEDGER_FILE)) : undefined;
      void lease?.ledger.then((ledger) => (openLedger = ledger), () => undefined);
      // Every send-email node honours the suppression list (marketing-suppress), ledger or not.
      const suppressionLease = acquireSuppressionList(join(userDirectory(RED), DEFAULT_SUPPRESSION_FILE));
      const delivery = Promise.all([lease?.ledger ?? Promise.resolve(undefined), suppressionLease.list]).then(
        ([ledger, suppression]) => new EmailDelivery({
          transport,
          ledger,
          retry,
          resendInterrupted: config.afterInterruption === 'resend',
          isSuppressed: (to) => suppression.has(to),
        }),
        (err: unknown) => {
          throw localiseError(RED, 'send-email', err);
        },
      );
      return {
        composer,
        cap,
        references: contextReferences(composer.names),
        transport,
        delivery,
        close: () => delivery
          .then((ready) => ready.close(), () => undefined)
          .then(() => ownTransport?.close())
          .then(() => lease?.release())
          .then(() => suppressionLease.release()),
      };
    }

    let runtime: Runtime | undefined;
    let setupError: Error | undefined;
    try {
      runtime = createRuntime();
    } catch (err) {
      setupError = localiseError(RED, 'send-email', err);
      // Reported at deploy too; a config node's own error is reported by the config node.
      if (!reportedByConfigNode) node.error(setupError);
    }
    // What the outbox (this node's, or the configuration's) removed at start, for the report.
    let outboxLeftovers: OutboxLeftovers | undefined;
    void runtime?.transport.leftovers?.then((removed) => (outboxLeftovers = removed));
    let pending = 0;
    let statusTimer: NodeJS.Timeout | undefined;
    let lastStatusAt = 0;

    // The transport's circuit breaker, shared with the other nodes of its marketing-smtp node.
    const breaker = runtime?.transport.breaker;
    const unsubscribe = breaker?.subscribe(() => scheduleStatus());

    function showStatus(): void {
      statusTimer = undefined;
      lastStatusAt = Date.now();
      if (setupError) return showError(node, setupError.message);
      const server = breaker?.state;
      if (server?.down && pending > 0) {
        const text = server.probing
          ? RED._('send-email.status.probing', { waiting: pending })
          : RED._('send-email.status.serverDown', { waiting: pending, time: new Date(server.nextProbeAt).toTimeString().slice(0, 8) });
        node.status({ fill: 'yellow', shape: 'ring', text });
        return;
      }
      const text = RED._('send-email.status.counts', { sent: counters.sent, skipped: counters.skipped + counters.duplicate, failed: counters.failed });
      const fill = counters.failed > 0 ? 'red' : pending > 0 ? 'blue' : 'green';
      node.status({ fill, shape: pending > 0 ? 'ring' : 'dot', text });
    }
    let closed = false;
    function scheduleStatus(): void {
      if (statusTimer || closed) return;
      statusTimer = setTimeout(showStatus, Math.max(0, STATUS_INTERVAL_MS - (Date.now() - lastStatusAt)));
    }

    if (runtime) {
      void runtime.delivery.then(
        () => node.status({ fill: 'grey', shape: 'dot', text: RED._('send-email.status.ready', { destination }) }),
        (err: Error) => {
          setupError = err;
          showStatus();
        },
      );
    } else {
      showStatus();
    }

    function report(msg: NodeMessageInFlow): Record<string, unknown> {
      const requested = typeof (msg as { campaign?: unknown }).campaign === 'string' ? String((msg as { campaign?: string }).campaign).trim() : '';
      const reportCampaign = requested || campaign;
      return {
        campaign: reportCampaign,
        destination,
        since: startedAt,
        run: { ...counters, pending },
        ledger: openLedger?.summarise(reportCampaign),
        ...(outboxLeftovers ? { outboxLeftovers } : {}),
      };
    }

    function finish(
      msg: NodeMessageInFlow,
      send: (msg: Array<NodeMessage | null>) => void,
      done: (err?: Error) => void,
      email: EmailInfo,
      error?: Error,
    ): void {
      (msg as unknown as { email: EmailInfo }).email = email;
      counters[email.status]++;
      send(email.status === 'sent' ? [msg, null] : [null, msg]);
      scheduleStatus();
      if (error) done(error);
      else done();
    }

    function failure(err: unknown, details: Record<string, unknown>): { email: EmailInfo; error: Error } {
      const error = localiseError(RED, 'send-email', err);
      const reason = (error as { code?: unknown }).code;
      return { email: { status: 'failed', reason: typeof reason === 'string' ? reason : 'error', message: error.message, ...details }, error };
    }

    function describeOutcome(outcome: DeliveryOutcome, base: Record<string, unknown>): { email: EmailInfo; error?: Error } {
      switch (outcome.status) {
        case 'sent': {
          const { messageId, accepted, rejected, response } = outcome.receipt;
          const email: EmailInfo = { status: 'sent', messageId, accepted, rejected, response, attempts: outcome.attempts, ...base };
          return { email, error: outcome.ledgerError && localiseError(RED, 'send-email', outcome.ledgerError) };
        }
        case 'suppressed':
          return { email: { status: 'skipped', reason: 'suppressed', ...base } };
        case 'duplicate': {
          const email: EmailInfo = { status: 'duplicate', reason: outcome.reason, ...base };
          if (outcome.entry) {
            email.previous = { state: outcome.entry.state, at: outcome.entry.at, messageId: outcome.entry.messageId };
          }
          return { email };
        }
        default:
          // messageId: for an unknown outcome, to look the message up in the server's logs
          return failure(outcome.error, { ...base, attempts: outcome.attempts, ...(outcome.messageId ? { messageId: outcome.messageId } : {}) });
      }
    }

    node.on('input', (msg, send, done) => {
      if (msg.topic === 'report') {
        msg.payload = report(msg);
        send([msg, null]);
        done();
        return;
      }
      counters.received++;
      const override = (msg as { campaign?: unknown }).campaign;
      const messageCampaign = typeof override === 'string' && override.trim() ? override.trim() : campaign;
      if (!runtime || setupError) {
        const { email, error } = failure(setupError, { campaign: messageCampaign });
        return finish(msg, send, done, email, error);
      }
      const { composer, cap, references, delivery } = runtime;
      resolveTemplateReferences(RED, node, references, msg, (lookupError, lookup) => {
        if (lookupError) {
          const { email, error } = failure(lookupError, { campaign: messageCampaign });
          return finish(msg, send, done, email, error);
        }
        let composition;
        try {
          composition = composer.compose(msg as unknown as Record<string, unknown>, messageCampaign, lookup);
        } catch (err) {
          const { email, error } = failure(err, { campaign: messageCampaign });
          return finish(msg, send, done, email, error);
        }
        if (composition.kind === 'skip') {
          return finish(msg, send, done, { status: 'skipped', reason: composition.reason, campaign: messageCampaign, to: composition.to });
        }
        const base = { campaign: messageCampaign, to: composition.to };
        const { to, mail } = composition;
        pending++;
        scheduleStatus();
        // Over the frequency cap: skipped, from the ledger's sent records of the other campaigns.
        const capped = (): boolean => cap !== undefined && openLedger !== undefined && isCapped(openLedger, to, cap, Date.now(), messageCampaign);
        delivery
          .then((ready) => (capped() ? undefined : ready.deliver({ campaign: messageCampaign, to, mail })))
          .then((outcome): { email: EmailInfo; error?: Error } => (outcome === undefined
            ? { email: { status: 'skipped', reason: 'frequencyCap', ...base } }
            : describeOutcome(outcome, base)), (err: unknown) => failure(err, base))
          .then(({ email, error }) => {
            pending--;
            finish(msg, send, done, email, error);
          });
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(statusTimer);
      unsubscribe?.();
      void Promise.resolve(runtime?.close())
        .catch((err: unknown) => node.warn(localiseError(RED, 'send-email', err).message))
        .then(() => done());
    });
  }

  RED.nodes.registerType('marketing-send-email', MarketingSendEmailNode);
};
