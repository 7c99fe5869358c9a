/**
 * Deploys a marketing-send-email node (with a marketing-smtp node when given) in the real
 * Node-RED runtime, wired to helper nodes for its two outputs and to a Catch node, and
 * waits for every message fed to it to come out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeMessage } from 'node-red';
import sendEmailNode from '../../nodes/send-email/send-email';
import smtpNode from '../../nodes/smtp/smtp';
import { collect, helper, waitUntil, type TestFlow } from './red';
import type { TestSmtpServer } from './smtp-server';

export const SEND_DEFAULTS = {
  from: 'news@shop.example',
  fromName: 'Shop News',
  subject: 'Hello {{contact.firstName|there}}',
  text: '{{payload}}',
  html: '',
  campaign: 'spring',
  retries: 4,
  retryWindow: 30,
  retryDelay: 0.01,
};

export const SMTP_DEFAULTS = {
  transport: 'smtp',
  host: '127.0.0.1',
  security: 'none',
  rejectUnauthorized: true,
  maxConnections: 3,
  rateLimit: 0,
  timeout: 5,
};

export type EmailResult = NodeMessage & {
  email: { status: string; reason?: string; attempts?: number; to?: string; messageId?: string; response?: string; [key: string]: unknown };
  error?: { message: string; code?: string };
  contact?: Record<string, unknown>;
};

export interface SendEmailHarness {
  userDir: string;
  sent: EmailResult[];
  notSent: EmailResult[];
  caught: EmailResult[];
  /** Feeds messages to the node and waits until each has left on an output. */
  run(messages: Array<Record<string, unknown>>, timeoutMs?: number): Promise<void>;
  feed(messages: Array<Record<string, unknown>>): void;
  flow: TestFlow;
}

export function sendEmailFlow(send: Record<string, unknown>, smtp: Record<string, unknown> | null): TestFlow {
  const flow: TestFlow = [
    { id: 'tab', type: 'tab', label: 'campaign' },
    // nodes on a tab need a position, or the runtime takes them for config nodes
    { id: 'send', type: 'marketing-send-email', z: 'tab', x: 100, y: 40, name: '', ...SEND_DEFAULTS, smtp: smtp ? 'smtp-server' : '', ...send, wires: [['sent'], ['notSent']] },
    { id: 'sent', type: 'helper', z: 'tab', x: 300, y: 20 },
    { id: 'notSent', type: 'helper', z: 'tab', x: 300, y: 60 },
    { id: 'catch-all', type: 'catch', z: 'tab', x: 100, y: 100, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', x: 300, y: 100 },
  ];
  if (smtp) flow.push({ id: 'smtp-server', type: 'marketing-smtp', name: '', ...SMTP_DEFAULTS, ...smtp });
  return flow;
}

/** A fresh Node-RED user directory (for the ledger and the outbox) per deployment. */
/** `count` messages of one contact each: `${prefix}0@example.com` (first name N0), `${prefix}1@…`, … */
export function contactMessages(count: number, prefix = 'user'): Array<{ contact: { email: string; firstName: string } }> {
  return Array.from({ length: count }, (_, i) => ({ contact: { email: `${prefix}${i}@example.com`, firstName: `N${i}` } }));
}

export function makeUserDir(): string {
  const userDir = mkdtempSync(join(tmpdir(), 'marketing-userdir-'));
  helper.settings({ userDir });
  return userDir;
}

export function removeUserDir(userDir: string): void {
  rmSync(userDir, { recursive: true, force: true });
}

export async function deploySendEmail(
  send: Record<string, unknown> = {},
  smtp: Record<string, unknown> | null = null,
  credentials?: Record<string, unknown>,
  userDir = makeUserDir(),
): Promise<SendEmailHarness> {
  const flow = sendEmailFlow(send, smtp);
  await helper.load([sendEmailNode, smtpNode], flow, credentials ? { 'smtp-server': credentials } : {});
  return attach(flow, userDir);
}

/** Collects the outputs of the nodes currently deployed from `flow`. */
export function attach(flow: TestFlow, userDir: string): SendEmailHarness {
  const sent = collect('sent') as EmailResult[];
  const notSent = collect('notSent') as EmailResult[];
  const caught = collect('caught') as EmailResult[];
  const feed = (messages: Array<Record<string, unknown>>) => {
    const node = helper.getNode('send');
    if (!node) throw new Error('send-email node not deployed');
    for (const msg of messages) node.receive(msg as NodeMessage);
  };
  return {
    userDir,
    sent,
    notSent,
    caught,
    flow,
    feed,
    async run(messages, timeoutMs = 20_000) {
      const before = sent.length + notSent.length;
      const failedBefore = notSent.filter((msg) => msg.email.status === 'failed').length;
      const caughtBefore = caught.length;
      feed(messages);
      await waitUntil(() => sent.length + notSent.length >= before + messages.length, timeoutMs, `${messages.length} outputs`);
      const failures = notSent.filter((msg) => msg.email.status === 'failed').length - failedBefore;
      await waitUntil(() => caught.length >= caughtBefore + failures, 2000, 'Catch node messages');
    },
  };
}

/** Every address either received exactly once (and reported sent) or not at all (and reported not sent). */
export function assertExactlyOnce(harness: SendEmailHarness, server: TestSmtpServer, addresses: string[]): void {
  const outcome = new Map<string, string>();
  for (const msg of [...harness.sent, ...harness.notSent]) {
    const to = String(msg.email.to ?? '');
    if (msg.email.status === 'sent' || !outcome.has(to)) outcome.set(to, msg.email.status);
  }
  for (const address of addresses) {
    const received = server.receivedCount(address);
    if (outcome.get(address) === 'sent') assert.equal(received, 1, `${address} reported sent, received ${received} times`);
    else assert.equal(received, 0, `${address} reported ${outcome.get(address)}, received ${received} times`);
  }
}
