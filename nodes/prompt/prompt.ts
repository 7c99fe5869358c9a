/**
 * `marketing-prompt`: renders each contact's prompt from a mustache template chosen by its
 * segment. The templates compile once per deploy (lib/prompt.ts, lib/template.ts); this
 * file adapts them to Node-RED: flow/global/env values, status, errors, and the editor's
 * preview endpoint.
 */
import type { Request, Response } from 'express';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { isContact } from '../../lib/segmentation/contacts';
import { MarketingError } from '../../lib/errors';
import {
  compilePromptTemplates,
  normalisePromptSettings,
  readPromptInput,
  renderPrompt,
  selectPromptTemplate,
  type PromptTemplates,
} from '../../lib/prompt';
import type { TemplateLookup } from '../../lib/template';
import { localiseError, resolveTemplateReferences, showError } from '../common';

interface PromptNodeDef extends NodeDef {
  template: string;
  segments: unknown;
  partials: unknown;
  missing: string;
  maxValueLength: number | string;
}

type Message = Record<string, unknown>;

export = function (RED: NodeAPI) {
  function MarketingPromptNode(this: Node, config: PromptNodeDef) {
    RED.nodes.createNode(this, config);
    handleMessages(this, config);
  }

  /** Compiles the templates once, then renders each message's prompt. */
  function handleMessages(node: Node, config: PromptNodeDef) {
    let templates: PromptTemplates | undefined;
    let templateError: Error | undefined;
    try {
      templates = compilePromptTemplates(normalisePromptSettings(config as unknown as Message));
    } catch (err) {
      templateError = localiseError(RED, 'prompt', err);
      node.error(templateError);
      showError(node, RED._('prompt.status.badTemplate', (err as MarketingError).params ?? {}));
    }

    let showingError = false;
    const fail = (err: unknown, done: (err?: Error) => void) => {
      const localised = localiseError(RED, 'prompt', err);
      showError(node, localised.message);
      showingError = true;
      done(localised);
    };

    node.on('input', (msg, send, done) => {
      if (templateError !== undefined || templates === undefined) {
        done(templateError);
        return;
      }
      const message = msg as unknown as Message;
      try {
        const input = readPromptInput(message);
        const template = selectPromptTemplate(templates, input);
        resolveTemplateReferences(RED, node, template.references, message, (err, lookup) => {
          if (err) {
            fail(err, done);
            return;
          }
          try {
            const text = renderPrompt(template, input, message, lookup);
            message.contact = input.contact;
            message.prompt = text;
            message.payload = text;
          } catch (renderError) {
            fail(renderError, done);
            return;
          }
          if (showingError) {
            node.status({});
            showingError = false;
          }
          send(msg);
          done();
        });
      } catch (err) {
        fail(err, done);
      }
    });
  }

  RED.nodes.registerType('marketing-prompt', MarketingPromptNode);

  /**
   * The editor's preview: renders the dialog's unsaved settings for a sample contact.
   * Context values (`flow.*`, `global.*`, `env.*`) come from the node if it is deployed.
   * It needs the same permission as changing the node, since it can read those values.
   */
  RED.httpAdmin.post(
    '/marketing-prompt/preview',
    RED.auth.needsPermission('marketing-prompt.write'),
    (req: Request, res: Response) => {
      const body: Message = isContact(req.body) ? req.body : {};
      const reply = (status: number, payload: Message) => res.status(status).json(payload);
      const replyError = (err: unknown) => {
        const localised = localiseError(RED, 'prompt', err) as Error & { code?: string; params?: unknown };
        reply(400, { error: { code: localised.code ?? 'failed', message: localised.message, params: localised.params ?? {} } });
      };
      try {
        const templates = compilePromptTemplates(normalisePromptSettings(isContact(body.settings) ? body.settings : {}));
        const msg: Message = { payload: parseSample(body.contact) };
        if (typeof body.segment === 'string' && body.segment.trim() !== '') msg.segment = { name: body.segment.trim() };
        const input = readPromptInput(msg);
        const template = selectPromptTemplate(templates, input);
        const deployed = typeof body.id === 'string' ? RED.nodes.getNode(body.id) : null;
        const node = deployed !== null && deployed.type === 'marketing-prompt' ? deployed : undefined;
        const render = (lookup: TemplateLookup | undefined) => {
          try {
            const prompt = renderPrompt(template, input, msg, lookup);
            const unresolved = node === undefined ? template.references.map((reference) => reference.name) : [];
            reply(200, { prompt, template: template.label, unresolved });
          } catch (err) {
            replyError(err);
          }
        };
        if (node === undefined) render(undefined);
        else resolveTemplateReferences(RED, node, template.references, msg, (err, lookup) => (err ? replyError(err) : render(lookup)));
      } catch (err) {
        replyError(err);
      }
    },
  );
};

/** The sample contact as pasted: JSON text (or an object, from scripts). */
function parseSample(sample: unknown): unknown {
  if (typeof sample !== 'string') return sample;
  try {
    return JSON.parse(sample);
  } catch (err) {
    throw new MarketingError('badSample', `The sample contact is not valid JSON: ${(err as Error).message}`, {
      detail: (err as Error).message,
    });
  }
}
