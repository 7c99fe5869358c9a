/**
 * `marketing-check`: checks generated copy before it is sent. The checks and the choice of
 * the best candidate live in lib/checks/; this file adapts them to Node-RED: configuration,
 * `msg.check` overrides, the two outputs, translated reasons, status and errors.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  checkSettingsFromConfig, compileChecks, listOf, type CheckConfig, type CheckName, type CheckSettings, type CopyChecker, type Finding,
} from '../../lib/checks';
import { MarketingError } from '../../lib/errors';
import { segmentNameOf } from '../../lib/prompt';
import { localiseError, showError } from '../common';

type CheckNodeDef = NodeDef & CheckConfig;

/** The `msg.check` properties that override the node's settings for one message. */
const OVERRIDES = ['brand', 'allowedOffers', 'otherBrands', 'bannedPhrases', 'minLength', 'maxLength', 'targetLength', 'enabled'] as const;

type Send = (msg: (NodeMessageInFlow | null)[]) => void;
type Done = (err?: Error) => void;

export = function (RED: NodeAPI) {
  /** The node's settings with the message's `msg.check` overrides, or the node's checker when there are none. */
  function checkerFor(base: CopyChecker, overrides: unknown): CopyChecker {
    if (overrides === undefined) return base;
    if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
      throw new MarketingError('badOverrides', 'msg.check must be an object of settings', { type: overrides === null ? 'null' : typeof overrides });
    }
    const given = overrides as Record<string, unknown>;
    const settings: CheckSettings = { ...base.settings };
    const writable = settings as Record<string, unknown>;
    let changed = false;
    for (const key of OVERRIDES) {
      if (given[key] === undefined) continue;
      changed = true;
      if (key === 'enabled') {
        if (given.enabled === null || typeof given.enabled !== 'object') throw new MarketingError('badOverrides', 'msg.check.enabled must be an object of check names and true or false', { type: typeof given.enabled });
        settings.enabled = { ...base.settings.enabled, ...(given.enabled as Record<CheckName, boolean>) };
      } else if (key === 'allowedOffers' || key === 'otherBrands' || key === 'bannedPhrases') {
        writable[key] = listOf(given[key]);
      } else if (key === 'brand') {
        writable.brand = String(given.brand).trim();
      } else {
        writable[key] = given[key];
      }
    }
    return changed ? compileChecks(settings) : base;
  }

  function candidatesOf(payload: unknown): string[] {
    if (typeof payload === 'string') return [payload];
    if (Array.isArray(payload)) {
      if (payload.length === 0) throw new MarketingError('noCandidates', 'msg.payload is an empty array: there is no text to check');
      const bad = payload.findIndex((item) => typeof item !== 'string');
      if (bad >= 0) {
        const type = Array.isArray(payload[bad]) ? 'array' : payload[bad] === null ? 'null' : typeof payload[bad];
        throw new MarketingError('badCandidate', `msg.payload[${bad}] is ${type}, not a text: send one contact's candidates per message`, { index: bad, type });
      }
      return payload as string[];
    }
    const type = payload === null ? 'null' : typeof payload;
    throw new MarketingError('badPayload', `msg.payload must be a text or an array of candidate texts, not ${type}`, { type });
  }

  function MarketingCheckNode(this: Node, config: CheckNodeDef) {
    RED.nodes.createNode(this, config);
    setUp(this, config);
  }

  function setUp(node: Node, config: CheckNodeDef): void {
    let checker: CopyChecker | undefined;
    let settingsError: Error | undefined;
    try {
      checker = compileChecks(checkSettingsFromConfig(config));
    } catch (err) {
      settingsError = localiseError(RED, 'check', err);
      node.error(settingsError);
      showError(node, settingsError.message);
    }
    const counts = { passed: 0, review: 0 };

    const reason = (f: Finding) => ({
      check: f.check,
      code: f.code,
      reason: RED._(`check.reasons.${f.code}`, f.params),
      excerpt: f.excerpt,
    });

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (!checker) {
        done(settingsError);
        return;
      }
      try {
        const message = msg as NodeMessageInFlow & Record<string, unknown>;
        const contact = message.contact;
        if (contact === null || typeof contact !== 'object' || Array.isArray(contact)) {
          const type = contact === null ? 'null' : Array.isArray(contact) ? 'array' : typeof contact;
          throw new MarketingError('noContact', `msg.contact must be the contact object the text is for, not ${type}`, { type });
        }
        const candidates = candidatesOf(message.payload);
        const active = checkerFor(checker, message.check);
        const selection = active.select(candidates, {
          contact: contact as Record<string, unknown>,
          segment: segmentNameOf(message.segment),
          prompt: typeof message.prompt === 'string' ? message.prompt : undefined,
        });
        const results = selection.candidates.map((c) => ({
          index: c.index,
          text: candidates[c.index],
          passed: c.passed,
          failed: c.failed.map(reason),
          warnings: c.warnings.map(reason),
          length: c.length,
        }));
        if (selection.passed) {
          const chosen = selection.candidates[selection.chosen];
          message.payload = candidates[selection.chosen];
          message.check = {
            passed: true,
            chosen: selection.chosen,
            score: { warnings: chosen.warnings.length, lengthDistance: chosen.lengthDistance },
            candidates: results,
          };
          counts.passed++;
        } else {
          message.check = { passed: false, chosen: -1, candidates: results };
          counts.review++;
        }
        node.status({
          fill: counts.review > 0 ? 'yellow' : 'green',
          shape: 'dot',
          text: RED._('check.status.counts', { passed: counts.passed, review: counts.review }),
        });
        send(selection.passed ? [msg, null] : [null, msg]);
        done();
      } catch (err) {
        const error = localiseError(RED, 'check', err);
        showError(node, error.message);
        done(error);
      }
    });
  }

  RED.nodes.registerType('marketing-check', MarketingCheckNode);
};
