/**
 * `marketing-suppress`: records consent events in the suppression list
 * (lib/consent/suppression.ts) that every send-email and segment node honours.
 *
 * Fed by an HTTP In node, it serves the unsubscribe link of the emails: the one-click `POST`
 * of RFC 8058 that mail programs send, and the `GET` of a person clicking the link in the
 * body, answered with a small page in the contact's language. The signed token of the link
 * (lib/consent/token.ts) is checked; the answer goes to an HTTP Response node through
 * `msg.statusCode`, `msg.headers` and `msg.payload`. Fed anything else, `msg.payload =
 * {email, reason, campaign, list}` is a suppression recorded as it is (added by hand, or
 * from a bounce or complaint another flow recognised).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  bodySize, MAX_BODY_BYTES, PAGE_HEADERS, pickLanguage, RateLimiter, renderPage, type PageKind, type PageLanguage, type PageTexts,
} from '../../lib/consent/endpoint';
import { MAX_BOUNCE_BYTES, readBounceMessage, readDeliveryStatus, type BounceKind, type BounceReport } from '../../lib/consent/bounce';
import { acquireSendLedger, DEFAULT_LEDGER_FILE, type SendLedger } from '../../lib/email/ledger';
import {
  acquireSuppressionList, DEFAULT_SUPPRESSION_FILE, type SuppressionList, type SuppressionOutcome, type SuppressionRequest,
} from '../../lib/consent/suppression';
import { verifyUnsubscribeToken, type TokenSecrets } from '../../lib/consent/token';
import { basicAuthMatches, readWebhook, type ConsentEventKind, type WebhookPayload } from '../../lib/consent/webhooks';
import { MarketingError } from '../../lib/errors';
import { localiseError, numberOr, showError, userDirectory } from '../common';
import type { TransportProvider } from '../smtp/provider';

interface SuppressNodeDef extends NodeDef {
  smtp?: string;
  /** What a GET of the link does: show a page with a button (`confirm`), or unsubscribe at once. */
  getAction?: 'confirm' | 'unsubscribe';
  /** The page language when neither the link nor the browser names English or Chinese. */
  language?: PageLanguage;
  /** Requests a second over HTTP, all callers together (0: no limit). */
  rateLimit?: string | number;
  /** Soft bounces of an address that suppress it. */
  softBounceLimit?: string | number;
  /** Bounces for addresses the send ledger has no email to are ignored (`known`), or recorded too (`any`). */
  bounces?: 'known' | 'any';
}

interface SuppressCredentials {
  /** The password of providers' webhook requests (HTTP Basic, any user name). */
  webhookPassword?: string;
}

/** The largest webhook body looked at (SendGrid posts events in batches). */
const MAX_WEBHOOK_BYTES = 1024 * 1024;

/** What a bounce message did, per recipient, in `msg.payload.events`. */
interface BounceOutcome {
  email: string;
  kind: BounceKind | ConsentEventKind;
  /** From a bounce message: the status code and the server's reply. */
  status?: string;
  diagnostic?: string;
  /** From a webhook: the provider's words. */
  detail?: string;
  campaign: string;
  /** `suppressed`, `alreadySuppressed`, `counted` (a soft bounce under the limit), `ignored` (not an address the ledger knows). */
  outcome: 'suppressed' | 'alreadySuppressed' | 'counted' | 'ignored';
  softBounces?: number;
}

/** What happened to a message, in `msg.consent`. */
interface ConsentInfo {
  status: 'suppressed' | 'alreadySuppressed' | 'confirm' | 'refused' | 'failed' | 'bounce' | 'notABounce' | 'webhook';
  /** Why a request was refused: `malformed`, `tooLong`, `forged`, `expired`, `tooLarge`, `rateLimited`, `method`, `unavailable`. */
  refused?: string;
  email?: string;
  reason?: string;
  campaign?: string;
  list?: string;
  at?: string;
}

interface HttpRequest {
  method?: unknown;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

type Send = (msg: NodeMessageInFlow) => void;
type Done = (err?: Error) => void;

const DEFAULT_RATE_LIMIT = 20;
const DEFAULT_SOFT_BOUNCE_LIMIT = 3;
/**
 * Whether `text` is a raw message (a header block with a MIME, address or trace header, then
 * the body) rather than the body text an e-mail In node gives.
 */
function isRawMessage(text: string): boolean {
  const head = text.slice(0, 65536);
  const blank = head.search(/\r?\n\r?\n/);
  if (blank <= 0) return false;
  const lines = head.slice(0, blank).split(/\r?\n/);
  if (!lines.every((line, i) => /^[!-9;-~]+:/.test(line) || (i > 0 && /^[ \t]/.test(line)))) return false;
  return lines.some((line) => /^(content-type|mime-version|from|return-path|received):/i.test(line));
}

/** The answer pages in both languages, from the node's own catalogs (whatever Node-RED's language). */
function loadPages(): Record<PageLanguage, PageTexts> {
  const read = (locale: string) => (JSON.parse(readFileSync(join(__dirname, 'locales', locale, 'suppress.json'), 'utf8')) as {
    suppress: { page: PageTexts };
  }).suppress.page;
  return { en: read('en-US'), zh: read('zh-CN') };
}

export = function (RED: NodeAPI) {
  const pages = loadPages();

  function MarketingSuppressNode(this: Node<SuppressCredentials>, config: SuppressNodeDef) {
    RED.nodes.createNode(this, config);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- Node-RED's idiom: the closures below act on the node
    const node = this;
    const confirmFirst = config.getAction !== 'unsubscribe';
    const fallbackLanguage: PageLanguage = config.language === 'zh' ? 'zh' : 'en';
    const limiter = new RateLimiter(Math.max(0, numberOr(config.rateLimit, DEFAULT_RATE_LIMIT)));
    const counts = { suppressed: 0, already: 0, refused: 0 };
    const softBounceLimit = Math.max(1, Math.floor(numberOr(config.softBounceLimit, DEFAULT_SOFT_BOUNCE_LIMIT)));
    const onlyKnown = config.bounces !== 'any';
    // The send ledger tells which bounced addresses were mailed, and by which campaign.
    const ledgerLease = acquireSendLedger(join(userDirectory(RED), DEFAULT_LEDGER_FILE));
    let ledger: SendLedger | undefined;
    void ledgerLease.ledger.then((opened) => (ledger = opened), () => undefined);

    // The secrets of the chosen marketing-smtp node; without them no link can be checked.
    const provider = config.smtp ? (RED.nodes.getNode(config.smtp) as unknown as TransportProvider | null) : null;
    let secrets: TokenSecrets | undefined;
    let secretsError: Error | undefined;
    if (config.smtp && !provider) secretsError = new Error(RED._('suppress.errors.noServer'));
    else if (provider?.unsubscribeSecrets instanceof Error) secretsError = provider.unsubscribeSecrets;
    else if (provider?.unsubscribeSecrets) secrets = provider.unsubscribeSecrets;
    else secretsError = Object.assign(new Error(RED._('suppress.errors.noSecret')), { code: 'noSecret' });
    // The config node reports its own error; a missing one or a missing secret is this node's.
    if (secretsError && config.smtp && !(provider?.unsubscribeSecrets instanceof Error)) node.error(secretsError);

    const lease = acquireSuppressionList(join(userDirectory(RED), DEFAULT_SUPPRESSION_FILE));
    let list: SuppressionList | undefined;
    let listError: Error | undefined;
    const ready = lease.list.then(
      (opened) => {
        list = opened;
        showStatus();
        return opened;
      },
      (err: unknown) => {
        listError = localiseError(RED, 'suppress', err);
        node.error(listError);
        showStatus();
        throw listError;
      },
    );
    ready.catch(() => undefined);

    function showStatus(): void {
      if (listError) return showError(node, listError.message);
      if (secretsError && config.smtp) return showError(node, secretsError.message);
      const text = RED._('suppress.status.counts', { suppressed: counts.suppressed, already: counts.already, refused: counts.refused, total: list?.size ?? 0 });
      node.status({ fill: secrets ? 'green' : 'grey', shape: 'dot', text });
    }
    showStatus();

    function answer(msg: NodeMessageInFlow, statusCode: number, kind: PageKind, language: PageLanguage, consent: ConsentInfo, extraHeaders: Record<string, string> = {}): void {
      const out = msg as unknown as Record<string, unknown>;
      out.statusCode = statusCode;
      out.headers = { ...PAGE_HEADERS, ...extraHeaders };
      out.payload = renderPage(kind, pages[language], language);
      out.consent = consent;
    }

    function refuse(msg: NodeMessageInFlow, send: Send, done: Done, statusCode: number, why: string, language: PageLanguage, kind: PageKind = 'invalid', extraHeaders: Record<string, string> = {}): void {
      counts.refused++;
      answer(msg, statusCode, kind, language, { status: 'refused', refused: why }, extraHeaders);
      showStatus();
      send(msg);
      done();
    }

    function describe(outcome: SuppressionOutcome): ConsentInfo {
      if (outcome.added) counts.suppressed++;
      else counts.already++;
      const { email, reason, campaign, list: listName, at } = outcome.record;
      return { status: outcome.added ? 'suppressed' : 'alreadySuppressed', email, reason, campaign, list: listName, at };
    }

    /** A POST that looks like a provider's webhook: authenticated, size-limited, then read. */
    function webhookRequest(msg: NodeMessageInFlow, headers: Record<string, unknown>, send: Send, done: Done): void {
      const password = (node.credentials as SuppressCredentials | undefined)?.webhookPassword ?? '';
      const out = msg as unknown as Record<string, unknown>;
      const answer = (statusCode: number, why: string, extra: Record<string, string> = {}) => {
        counts.refused++;
        out.statusCode = statusCode;
        out.headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...extra };
        out.payload = { error: why };
        out.consent = { status: 'refused', refused: why };
        showStatus();
        send(msg);
        done();
      };
      if (!password) return answer(503, 'unavailable');
      if (!basicAuthMatches(headers.authorization, password)) return answer(401, 'unauthorized', { 'WWW-Authenticate': 'Basic realm="marketing-suppress"' });
      if (bodySize(msg.payload) > MAX_WEBHOOK_BYTES) return answer(413, 'tooLarge');
      const webhook = readWebhook(headers, msg.payload);
      if (!webhook) return answer(400, 'malformed');
      handleWebhook(msg, webhook, send, done).catch((err: unknown) => {
        // The provider retries a failed delivery of its events: a 500 asks for that.
        const error = localiseError(RED, 'suppress', err);
        showError(node, error.message);
        out.statusCode = 500;
        out.headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };
        out.payload = { error: 'failed' };
        out.consent = { status: 'failed' };
        send(msg);
        done(error);
      });
    }

    /** A request from an HTTP In node: the unsubscribe link, clicked or one-click POSTed. */
    function handleRequest(msg: NodeMessageInFlow, request: HttpRequest, send: Send, done: Done): void {
      const headers = request.headers ?? {};
      const query = request.query ?? {};
      const language = pickLanguage(query.lang, headers['accept-language'], fallbackLanguage);
      const method = typeof request.method === 'string' ? request.method.toUpperCase() : '';
      if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
        return refuse(msg, send, done, 405, 'method', language, 'invalid', { Allow: 'GET, POST' });
      }
      if (!limiter.take()) {
        return refuse(msg, send, done, 429, 'rateLimited', language, 'busy', { 'Retry-After': String(limiter.retryAfter()) });
      }
      if (method === 'POST' && (headers['x-amz-sns-message-type'] !== undefined || Array.isArray(msg.payload) || (typeof msg.payload === 'string' && msg.payload.trimStart().startsWith('[')))) {
        return webhookRequest(msg, headers, send, done);
      }
      const declared = Number(headers['content-length']);
      if ((Number.isFinite(declared) && declared > MAX_BODY_BYTES) || bodySize(msg.payload) > MAX_BODY_BYTES) {
        return refuse(msg, send, done, 413, 'tooLarge', language);
      }
      if (!secrets || !list) return refuse(msg, send, done, 503, 'unavailable', language, 'unavailable');
      const body = method === 'POST' && msg.payload !== null && typeof msg.payload === 'object' ? (msg.payload as Record<string, unknown>) : {};
      const token = query.token ?? body.token;
      const verdict = verifyUnsubscribeToken(token, secrets);
      if (!verdict.valid) {
        // The same page for every refusal: nothing tells whether the address is known.
        const statusCode = verdict.reason === 'forged' || verdict.reason === 'expired' ? 403 : 400;
        return refuse(msg, send, done, statusCode, verdict.reason, language);
      }
      const { email, campaign, list: listName } = verdict.claims;
      if (method !== 'POST' && confirmFirst) {
        answer(msg, 200, 'confirm', language, { status: 'confirm', email, campaign, list: listName });
        send(msg);
        done();
        return;
      }
      let recording: Promise<SuppressionOutcome>;
      try {
        recording = list.suppress({ email, reason: 'unsubscribe', campaign, list: listName });
      } catch {
        return refuse(msg, send, done, 400, 'malformed', language);
      }
      recording.then(
        (outcome) => {
          answer(msg, 200, 'done', language, describe(outcome));
          showStatus();
          send(msg);
          done();
        },
        (err: unknown) => {
          // Suppressed in memory (no email goes out from this process), but not on disk.
          const error = localiseError(RED, 'suppress', err);
          answer(msg, 500, 'unavailable', language, { status: 'failed', email, campaign, list: listName });
          showError(node, error.message);
          send(msg);
          done(error);
        },
      );
    }

    /** The campaign that mailed `email` (the one whose Message-ID the bounce returns, else the latest), or undefined when none did. */
    function mailedBy(email: string, messageId: string | undefined): string | undefined {
      const records = ledger?.recordsFor(email) ?? [];
      if (records.length === 0) return undefined;
      const exact = messageId ? records.find(({ entry }) => entry.messageId === messageId) : undefined;
      if (exact) return exact.campaign;
      return records.reduce((latest, record) => (record.entry.at > latest.entry.at ? record : latest)).campaign;
    }

    /**
     * Records one bounce, complaint or unsubscribe reported by a bounce message or a webhook:
     * only for an address the send ledger mailed, unless told otherwise; soft bounces count.
     */
    async function applyEvent(
      opened: SuppressionList, email: string, kind: BounceKind | ConsentEventKind, messageId: string | undefined, details: Record<string, string>,
    ): Promise<BounceOutcome> {
      // The ledger may still be loading when the flows have just started.
      await ledgerLease.ledger.catch(() => undefined);
      const campaign = mailedBy(email, messageId);
      const base = { email, kind, ...details, campaign: campaign ?? '' };
      if (campaign === undefined && onlyKnown) return { ...base, outcome: 'ignored' };
      if (kind === 'softBounce') {
        const outcome = await opened.softBounce({ email, campaign: campaign ?? '' }, softBounceLimit);
        if (outcome.suppression) describe(outcome.suppression);
        const result = outcome.suppression ? (outcome.suppression.added ? 'suppressed' : 'alreadySuppressed') : 'counted';
        return { ...base, outcome: result, softBounces: outcome.count };
      }
      const outcome = await opened.suppress({ email, reason: kind, campaign: campaign ?? '' });
      describe(outcome);
      return { ...base, outcome: outcome.added ? 'suppressed' : 'alreadySuppressed' };
    }

    /** A provider's webhook request (SES through SNS, SendGrid), after its authentication. */
    async function handleWebhook(msg: NodeMessageInFlow, webhook: WebhookPayload, send: Send, done: Done): Promise<void> {
      const out = msg as unknown as Record<string, unknown>;
      const reply = (statusCode: number, payload: unknown) => {
        out.statusCode = statusCode;
        out.headers = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };
        out.payload = payload;
        out.consent = { status: 'webhook' };
        showStatus();
        send(msg);
        done();
      };
      if ('type' in webhook && webhook.type === 'subscriptionConfirmation') {
        // Confirms the SNS subscription by visiting Amazon's confirmation URL.
        const confirmed = await fetch(webhook.subscribeUrl, { redirect: 'error', signal: AbortSignal.timeout(10_000) }).then((response) => response.ok, () => false);
        return reply(confirmed ? 200 : 502, { confirmed });
      }
      if (!('events' in webhook)) return reply(200, { received: 0, events: [] });
      if (!list) return reply(503, { error: 'unavailable' });
      const events: BounceOutcome[] = [];
      for (const event of webhook.events) events.push(await applyEvent(list, event.email, event.kind, event.messageId, { detail: event.detail }));
      reply(200, { received: events.length, events });
    }

    /** A bounce message (raw, or the text of a parsed one) in `msg.payload`: hard bounces suppress, soft ones count. */
    async function handleBounce(msg: NodeMessageInFlow, send: Send, done: Done): Promise<void> {
      const payload = msg.payload as string | Buffer;
      if (payload.length > MAX_BOUNCE_BYTES) {
        throw new MarketingError('bounceTooLarge', `The bounce message is ${payload.length} bytes, more than ${MAX_BOUNCE_BYTES}`, { size: payload.length, limit: MAX_BOUNCE_BYTES });
      }
      const text = typeof payload === 'string' ? payload : payload.toString('utf8');
      const report: BounceReport = isRawMessage(text) ? await readBounceMessage(payload) : readDeliveryStatus(text);
      if (!list) throw listError ?? new MarketingError('suppressionOpen', 'The suppression list is not open yet', { path: DEFAULT_SUPPRESSION_FILE, message: 'not open' });
      const events: BounceOutcome[] = [];
      for (const event of report.events) {
        events.push(await applyEvent(list, event.email, event.kind, report.originalMessageId, { status: event.status, diagnostic: event.diagnostic }));
      }
      msg.payload = { events };
      (msg as unknown as { consent: ConsentInfo }).consent = { status: report.isDeliveryStatus ? 'bounce' : 'notABounce' };
      showStatus();
      send(msg);
      done();
    }

    /** `msg.payload = {email, reason, campaign, list}` from a flow: recorded as it is. */
    function handleEvent(msg: NodeMessageInFlow, send: Send, done: Done): void {
      const payload = msg.payload;
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        const type = payload === null ? 'null' : Array.isArray(payload) ? 'array' : typeof payload;
        throw new MarketingError('badEvent', `msg.payload must be an object {email, reason, campaign, list}, not ${type}`, { type });
      }
      const event = payload as Record<string, unknown>;
      const request = {
        email: event.email,
        reason: event.reason ?? 'manual',
        campaign: event.campaign,
        list: event.list,
      } as SuppressionRequest;
      if (!list) throw listError ?? new MarketingError('suppressionOpen', 'The suppression list is not open yet', { path: DEFAULT_SUPPRESSION_FILE, message: 'not open' });
      list.suppress(request).then(
        (outcome) => {
          const info = describe(outcome);
          msg.payload = info;
          (msg as unknown as { consent: ConsentInfo }).consent = info;
          showStatus();
          send(msg);
          done();
        },
        (err: unknown) => {
          const error = localiseError(RED, 'suppress', err);
          showError(node, error.message);
          done(error);
        },
      );
    }

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (msg.topic === 'report' && !(msg as { req?: unknown }).req) {
        void ready.then(
          (opened) => {
            msg.payload = { total: opened.size, byReason: opened.summarise(), run: { ...counts } };
            send(msg);
            done();
          },
          (err: Error) => done(err),
        );
        return;
      }
      // Wait for the list to load, so that a request at start is answered, not refused.
      void ready.then(() => undefined, () => undefined).then(() => {
        try {
          const request = (msg as { req?: unknown }).req;
          if (request !== null && typeof request === 'object') handleRequest(msg, request as HttpRequest, send, done);
          else if (typeof msg.payload === 'string' || Buffer.isBuffer(msg.payload)) {
            handleBounce(msg, send, done).catch((err: unknown) => {
              const error = localiseError(RED, 'suppress', err);
              showError(node, error.message);
              done(error);
            });
          } else handleEvent(msg, send, done);
        } catch (err) {
          const error = localiseError(RED, 'suppress', err);
          showError(node, error.message);
          done(error);
        }
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      void Promise.all([lease.release(), ledgerLease.release()])
        .catch((err: unknown) => node.warn(localiseError(RED, 'suppress', err).message))
        .then(() => done());
    });
  }

  RED.nodes.registerType<Node<SuppressCredentials>, SuppressNodeDef, unknown, SuppressCredentials>('marketing-suppress', MarketingSuppressNode, {
    credentials: { webhookPassword: { type: 'password' } },
  });
};
