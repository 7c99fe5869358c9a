/**
 * `marketing-segment`: routes contacts to one output per segment, plus an optional
 * "not targeted" output. The rules, consent and RFM logic live in lib/segmentation/segment.ts; this file
 * adapts it to Node-RED: configuration, messages, status, errors and the input contract.
 */
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { frequencyCapOf, isCapped, type FrequencyCap } from '../../lib/consent/frequency';
import { acquireSuppressionList, DEFAULT_SUPPRESSION_FILE, type SuppressionList } from '../../lib/consent/suppression';
import { acquireSendLedger, DEFAULT_LEDGER_FILE, type LedgerLease, type SendLedger } from '../../lib/email/ledger';
import { isContact } from '../../lib/segmentation/contacts';
import { MarketingError } from '../../lib/errors';
import {
  compileSegmentRules, NOT_TARGETED_REASONS, type NotTargetedReason, type SegmentDefinition, type Segmenter,
  type SegmentationResult,
} from '../../lib/segmentation/segment';
import { toTime } from '../../lib/segmentation/values';
import { localiseError, showError, userDirectory } from '../common';

interface SegmentNodeDef extends NodeDef {
  segments?: SegmentDefinition[];
  matchMode?: 'first' | 'every';
  outputMode?: 'each' | 'segment';
  notTargetedOutput?: boolean;
  optOutField?: string;
  emailField?: string;
  dedupe?: boolean;
  rfm?: boolean;
  rfmRecency?: string;
  rfmFrequency?: string;
  rfmMonetary?: string;
  /** Frequency cap: contacts that got `capCount` emails in `capDays` days (send ledger) are not targeted. */
  capCount?: string | number;
  capDays?: string | number;
}

/** `msg.segment`: which segment a message belongs to. */
interface SegmentInfo {
  name: string;
  index: number;
  size: number;
  reason?: NotTargetedReason;
}

type Send = (msg: NodeMessage | (NodeMessage | null)[]) => void;
type Done = (err?: Error) => void;

/** The name of the last output in `msg.segment.name`: data, so not translated. */
const NOT_TARGETED = 'not targeted';

/**
 * Messages are sent in slices with a turn of the event loop between them, so that a list of a
 * million contacts neither blocks Node-RED (the editor, other flows) while its messages go out
 * nor queues a million messages in memory before the first is delivered.
 */
const MESSAGES_PER_SLICE = 500;

export = function (RED: NodeAPI) {
  function MarketingSegmentNode(this: Node, config: SegmentNodeDef) {
    RED.nodes.createNode(this, config);
    setUp(this, config);
  }

  function setUp(node: Node, config: SegmentNodeDef): void {
    const outputMode = config.outputMode === 'segment' ? 'segment' : 'each';
    const notTargetedOutput = config.notTargetedOutput !== false;
    /** Sending runs in progress, stopped when the node closes. */
    const running = new Set<() => void>();
    // The suppression list (marketing-suppress): its addresses are not targeted, reason `suppressed`.
    const suppressionLease = acquireSuppressionList(join(userDirectory(RED), DEFAULT_SUPPRESSION_FILE));
    const suppression: Promise<SuppressionList> = suppressionLease.list.catch((err: unknown) => {
      const error = localiseError(RED, 'segment', err);
      node.error(error);
      showError(node, error.message);
      throw error;
    });
    suppression.catch(() => undefined);
    // The frequency cap reads the send ledger's sent records (opened only when a cap is set).
    let cap: FrequencyCap | undefined;
    let capError: Error | undefined;
    try {
      cap = frequencyCapOf(config.capCount, config.capDays);
    } catch (err) {
      capError = localiseError(RED, 'segment', err);
      node.error(capError);
      showError(node, capError.message);
    }
    const ledgerLease: LedgerLease | undefined = cap ? acquireSendLedger(join(userDirectory(RED), DEFAULT_LEDGER_FILE)) : undefined;
    const ledger: Promise<SendLedger | undefined> = (ledgerLease?.ledger ?? Promise.resolve(undefined)).catch((err: unknown) => {
      const error = localiseError(RED, 'segment', err);
      node.error(error);
      showError(node, error.message);
      throw error;
    });
    ledger.catch(() => undefined);

    let segmenter: Segmenter | undefined;
    let compileError: Error | undefined;
    try {
      segmenter = compileSegmentRules({
        segments: Array.isArray(config.segments) ? config.segments : [],
        matchMode: config.matchMode,
        optOutField: config.optOutField,
        emailField: config.emailField,
        dedupe: config.dedupe,
        rfm: config.rfm
          ? { recency: config.rfmRecency ?? '', frequency: config.rfmFrequency ?? '', monetary: config.rfmMonetary ?? '' }
          : null,
      });
      node.status({});
    } catch (err) {
      compileError = localiseError(RED, 'segment', err);
      node.error(compileError);
      showError(node, compileError.message);
    }

    /** Whether anything is wired to an output: unwired outputs cost no message building. */
    function isWired(port: number): boolean {
      const wires = (node as unknown as { wires?: string[][] }).wires;
      return (wires?.[port]?.length ?? 0) > 0;
    }

    function showCounts(names: readonly string[], result: SegmentationResult): void {
      const notTargeted = Object.values(result.notTargetedCounts).reduce((sum, count) => sum + count, 0);
      const perSegment = names.map((name, i) => `${name}: ${result.segments[i].length}`).join(', ');
      const text = `${perSegment}${perSegment ? '; ' : ''}${RED._('segment.status.notTargeted', { count: notTargeted })}`;
      node.status({ fill: 'green', shape: 'dot', text: text.length > 80 ? `${text.slice(0, 79)}…` : text });
    }

    /**
     * A message for one output: the input's other properties (topic and the like) with a new
     * payload. `Object.assign` on the plain input: spreading a rest-destructured copy instead
     * measured fifteen times slower per message.
     */
    function outputMessage(msg: NodeMessageInFlow, payload: unknown, segment: SegmentInfo): Record<string, unknown> {
      const out = Object.assign({}, msg) as Record<string, unknown>;
      out.payload = payload;
      out.segment = segment;
      return out;
    }

    /**
     * One message per contact per segment, with `msg.parts` for a core Join in automatic mode.
     * The messages of one segment (of one reason, on "not targeted") share one frozen
     * `msg.segment`: a million messages then carry a million fewer objects for the garbage
     * collector, and frozen, no flow can change it for the others.
     */
    function* eachContactMessages(msg: NodeMessageInFlow, names: readonly string[], result: SegmentationResult):
      Generator<[number, NodeMessage]> {
      const outerParts = (msg as { parts?: unknown }).parts;
      const partsOf = (id: string, index: number, count: number) => (outerParts === undefined
        ? { id, type: 'array', index, count, len: 1 }
        : { id, type: 'array', index, count, len: 1, parts: outerParts });
      for (let s = 0; s < names.length; s++) {
        const contacts = result.segments[s];
        if (!isWired(s)) continue;
        const id = RED.util.generateId();
        const segment = Object.freeze({ name: names[s], index: s, size: contacts.length });
        for (let i = 0; i < contacts.length; i++) {
          const out = outputMessage(msg, contacts[i], segment);
          out.contact = contacts[i];
          out.parts = partsOf(id, i, contacts.length);
          yield [s, out as NodeMessage];
        }
      }
      const port = names.length;
      const { contacts, reasons } = result.notTargeted;
      if (!notTargetedOutput || !isWired(port)) return;
      const id = RED.util.generateId();
      const segmentOf = new Map(NOT_TARGETED_REASONS.map((reason) =>
        [reason, Object.freeze({ name: NOT_TARGETED, index: port, size: contacts.length, reason })]));
      for (let i = 0; i < contacts.length; i++) {
        const out = outputMessage(msg, contacts[i], segmentOf.get(reasons[i]) as SegmentInfo);
        out.contact = contacts[i];
        out.parts = partsOf(id, i, contacts.length);
        yield [port, out as NodeMessage];
      }
    }

    /** One message per non-empty segment; on "not targeted", one per reason. */
    function* wholeSegmentMessages(msg: NodeMessageInFlow, names: readonly string[], result: SegmentationResult):
      Generator<[number, NodeMessage]> {
      for (let s = 0; s < names.length; s++) {
        const contacts = result.segments[s];
        if (contacts.length === 0 || !isWired(s)) continue;
        yield [s, outputMessage(msg, contacts, { name: names[s], index: s, size: contacts.length }) as NodeMessage];
      }
      const port = names.length;
      if (!notTargetedOutput || !isWired(port)) return;
      for (const reason of NOT_TARGETED_REASONS) {
        const contacts = result.notTargeted.contacts.filter((_, i) => result.notTargeted.reasons[i] === reason);
        if (contacts.length === 0) continue;
        yield [port, outputMessage(msg, contacts, { name: NOT_TARGETED, index: port, size: contacts.length, reason }) as NodeMessage];
      }
    }

    /** Sends every message, slice by slice; `done` once at the end, or when the node closes. */
    function sendAll(messages: Iterator<[number, NodeMessage]>, outputs: number, send: Send, done: Done): void {
      let stopped = false;
      const stop = () => {
        stopped = true;
        running.delete(stop);
        done();
      };
      running.add(stop);
      // One reusable array per output: send() reads it at once and keeps only the message.
      const byPort = Array.from({ length: outputs }, (_, port) => {
        const out: (NodeMessage | null)[] = new Array(outputs).fill(null);
        return (msg: NodeMessage) => {
          out[port] = msg;
          send(out);
          out[port] = null;
        };
      });
      const sendSlice = () => {
        if (stopped) return;
        try {
          for (let sent = 0; sent < MESSAGES_PER_SLICE; sent++) {
            const next = messages.next();
            if (next.done) {
              stop();
              return;
            }
            // One message per send() call: Node-RED deep-clones every message but the first of one call.
            byPort[next.value[0]](next.value[1]);
          }
          setImmediate(sendSlice);
        } catch (err) {
          stopped = true;
          running.delete(stop);
          const error = localiseError(RED, 'segment', err);
          showError(node, error.message);
          done(error);
        }
      };
      sendSlice();
    }

    /** `msg.referenceTime` replaces "now" for relative date conditions (replays, tests). */
    function referenceTimeOf(msg: NodeMessageInFlow): number {
      const given = (msg as { referenceTime?: unknown }).referenceTime;
      if (given === undefined) return Date.now();
      const time = toTime(given);
      if (Number.isNaN(time)) {
        throw new MarketingError('badReferenceTime', `msg.referenceTime "${String(given)}" is not a date`, { value: String(given) });
      }
      return time;
    }

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (!segmenter || capError) {
        done(compileError ?? capError);
        return;
      }
      // Lists wait for the suppression list (and the ledger, with a cap) to load; without them, nobody is targeted.
      Promise.all([suppression, ledger]).then(
        ([list, sent]) => segmentAndSend(segmenter as Segmenter, list, sent, msg, send, done),
        (err: Error) => done(err),
      );
    });

    function segmentAndSend(segmenter: Segmenter, list: SuppressionList, sent: SendLedger | undefined, msg: NodeMessageInFlow, send: Send, done: Done): void {
      try {
        const payload = msg.payload;
        if (!Array.isArray(payload) && !isContact(payload)) {
          const type = payload === null ? 'null' : typeof payload;
          throw new MarketingError('badPayload', `msg.payload must be a contact object or an array of contacts, not ${type}`, { type });
        }
        const contacts: readonly unknown[] = Array.isArray(payload) ? payload : [payload];
        const result = segmenter.segment(contacts, {
          now: referenceTimeOf(msg),
          keepNotTargeted: notTargetedOutput && isWired(segmenter.names.length),
          isSuppressed: list.size > 0 ? (address) => list.has(address) : undefined,
          isCapped: cap && sent ? (address) => isCapped(sent, address, cap as FrequencyCap, Date.now()) : undefined,
        });
        showCounts(segmenter.names, result);
        const messages = outputMode === 'segment'
          ? wholeSegmentMessages(msg, segmenter.names, result)
          : eachContactMessages(msg, segmenter.names, result);
        sendAll(messages, segmenter.names.length + (notTargetedOutput ? 1 : 0), send, done);
      } catch (err) {
        const error = localiseError(RED, 'segment', err);
        showError(node, error.message);
        done(error);
      }
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      for (const stop of [...running]) stop();
      void Promise.all([suppressionLease.release(), ledgerLease?.release()]).catch(() => undefined).then(() => done());
    });
  }

  RED.nodes.registerType('marketing-segment', MarketingSegmentNode);
};
