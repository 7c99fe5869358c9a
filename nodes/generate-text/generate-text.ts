/**
 * `marketing-generate-text`: continues each prompt with the model of its `marketing-llm`
 * config node (the bundled demo model when none is chosen), in this process or on an
 * inference server. The backends, the shared model and its queue are in lib/generation/;
 * this file adapts them to Node-RED: options from the editor and `msg.options`, this node's
 * queue limit and per-message timeout, status, errors, and ending everything on close.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MarketingError } from '../../lib/errors';
import { generationOutput, readPrompts } from '../../lib/generation/messages';
import { resolveModelSpec, type ModelSpec } from '../../lib/generation/backends';
import { modelRegistry } from '../../lib/generation/model-registry';
import {
  DEFAULT_GENERATION_OPTIONS,
  GENERATION_OPTION_NAMES,
  overriddenLengthOptions,
  resolveGenerationOptions,
  type GenerationOptions,
} from '../../lib/generation/options';
import { localiseError, showError } from '../common';

interface GenerateTextNodeDef extends NodeDef {
  llm: string;
  stop: unknown;
  maxQueue: number | string;
  /** `new` (default): max_new_tokens and min_new_tokens bound the length; `total`: max_length and min_length. */
  lengthMode?: string;
  timeout: number | string;
  [option: string]: unknown;
}

/** What a `marketing-llm` config node carries (nodes/llm/llm.ts). */
type LlmConfigNode = Node & { spec: ModelSpec; loadAtDeploy: boolean };

type Message = Record<string, unknown>;

const DEFAULT_MAX_QUEUE = 10_000;
const DEFAULT_TIMEOUT_SECONDS = 60;

/** Stop strings typed in the editor may use \n, \t and \\ for characters a text field cannot hold. */
function unescapeStop(text: string): string {
  return text.replace(/\\([nt\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

/** The options set in the editor; empty fields keep the defaults. The length mode says which length fields count. */
function configuredOptions(config: GenerateTextNodeDef): Record<string, unknown> {
  const total = config.lengthMode === 'total';
  const unused = total ? ['max_new_tokens', 'min_new_tokens'] : ['max_length', 'min_length'];
  const options: Record<string, unknown> = {};
  for (const name of GENERATION_OPTION_NAMES) {
    const value = config[name];
    if (value !== undefined && value !== '' && !unused.includes(name)) options[name] = value;
  }
  // An empty total length is refused (badInteger), not replaced by the new tokens' field.
  if (total && options.max_length === undefined) options.max_length = '';
  options.stop = Array.isArray(config.stop) ? config.stop.filter((s) => typeof s === 'string' && s !== '').map(unescapeStop) : [];
  return options;
}

function nodeSetting(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < min) {
    throw new MarketingError('badSetting', `Setting ${name} is ${String(value)}: expected a number of at least ${min}.`, {
      setting: name,
      value: String(value),
      min,
    });
  }
  return number;
}

export = function (RED: NodeAPI) {
  function MarketingGenerateTextNode(this: Node, config: GenerateTextNodeDef) {
    RED.nodes.createNode(this, config);
    serveMessages(this, config);
  }

  /** Wires a node to its shared model: status, input queue, timeouts, close. */
  function serveMessages(node: Node, config: GenerateTextNodeDef): void {
    const llm = RED.nodes.getNode(config.llm) as LlmConfigNode | null;
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    const spec = llm?.spec ?? resolveModelSpec({}, userDir);
    const lease = modelRegistry.acquire(spec);
    const model = lease.model;

    let baseOptions: GenerationOptions = DEFAULT_GENERATION_OPTIONS;
    let maxQueue = DEFAULT_MAX_QUEUE;
    let timeoutMs = DEFAULT_TIMEOUT_SECONDS * 1000;
    let configError: Error | undefined;
    try {
      if (config.llm && !llm) {
        // A deleted or disabled model node must not silently turn into the demo model.
        throw new MarketingError('llmMissing', 'The model configuration node of this node is missing or disabled.', { id: config.llm });
      }
      baseOptions = resolveGenerationOptions(DEFAULT_GENERATION_OPTIONS, configuredOptions(config));
      maxQueue = Math.floor(nodeSetting('maxQueue', config.maxQueue, DEFAULT_MAX_QUEUE, 1));
      timeoutMs = nodeSetting('timeout', config.timeout, DEFAULT_TIMEOUT_SECONDS, 0) * 1000;
    } catch (err) {
      configError = localiseError(RED, 'generate-text', err);
      node.error(configError);
    }

    /** Messages of this node waiting for the model, and those generating. */
    let waiting = 0;
    let running = 0;
    let closing = false;
    let lastError: Error | undefined;
    const controllers = new Set<AbortController>();
    const inFlight = new Set<Promise<unknown>>();

    const updateStatus = (): void => {
      if (closing) return;
      const error = lastError ?? (model.state === 'failed' ? model.error : undefined);
      if (configError) {
        showError(node, configError.message);
      } else if (model.state === 'loading') {
        node.status({ fill: 'yellow', shape: 'ring', text: RED._('generate-text.status.loading', { percent: model.progress }) });
      } else if (running + waiting > 0) {
        node.status({ fill: 'blue', shape: 'dot', text: RED._('generate-text.status.generating', { queue: waiting }) });
      } else if (error) {
        showError(node, localiseError(RED, 'generate-text', error).message);
      } else if (model.state === 'ready') {
        node.status({ fill: 'green', shape: 'dot', text: RED._('generate-text.status.ready') });
      } else {
        node.status({});
      }
    };
    const onModelState = (): void => {
      // A model that has just loaded supersedes the load failure a message may have shown.
      if (model.state === 'ready') lastError = undefined;
      updateStatus();
    };
    model.on('state', onModelState);
    model.on('progress', updateStatus);

    const fail = (err: unknown, done: (err?: Error) => void): void => {
      const localised = localiseError(RED, 'generate-text', err);
      if (!closing) {
        lastError = localised;
        updateStatus();
      }
      done(localised);
    };

    if (!configError && (llm?.loadAtDeploy ?? true)) {
      model.load().catch((err: unknown) => {
        if (!closing) node.error(localiseError(RED, 'generate-text', err));
      });
    }
    updateStatus();

    node.on('input', (msg, send, done) => {
      const message = msg as unknown as Message;
      let prompts: ReturnType<typeof readPrompts>;
      let options: GenerationOptions;
      try {
        if (configError) throw configError;
        prompts = readPrompts(message);
        options = resolveGenerationOptions(baseOptions, message.options);
        for (const pair of overriddenLengthOptions(message.options)) node.warn(RED._('generate-text.warnings.lengthOverridden', pair));
        if (waiting >= maxQueue) {
          throw new MarketingError('queueFull', `${waiting} messages are already waiting for the model (the most this node queues).`, {
            max: maxQueue,
          });
        }
      } catch (err) {
        fail(err, done);
        return;
      }

      const controller = new AbortController();
      controllers.add(controller);
      let started = false;
      let timer: NodeJS.Timeout | undefined;
      waiting++;
      updateStatus();

      const onStart = (): void => {
        started = true;
        waiting--;
        running++;
        updateStatus();
        if (timeoutMs > 0) {
          const seconds = timeoutMs / 1000;
          timer = setTimeout(() => {
            controller.abort(new MarketingError('timeout', `The generation took longer than ${seconds} s and was stopped.`, { seconds }));
          }, timeoutMs);
        }
      };

      const work = model
        .generate(prompts.prompts, options, { signal: controller.signal, onStart })
        .then(
          (result) => {
            const output = generationOutput(result, prompts, options.num_return_sequences);
            message.payload = output.payload;
            message.generation = output.generation;
            if (output.generation.promptTruncated) {
              node.warn(RED._('generate-text.warnings.promptTruncated', { max_new_tokens: options.max_new_tokens }));
            }
            lastError = undefined;
            send(msg);
            done();
          },
          (err: unknown) => fail(err, done),
        )
        .finally(() => {
          clearTimeout(timer);
          controllers.delete(controller);
          if (started) running--;
          else waiting--;
          inFlight.delete(work);
          updateStatus();
        });
      inFlight.add(work);
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closing = true;
      model.off('state', onModelState);
      model.off('progress', updateStatus);
      const closed = new MarketingError('closed', 'The node was closed or redeployed before this message was generated.');
      for (const controller of controllers) controller.abort(closed);
      // Queued messages end at once; a running generation stops after its current step.
      Promise.allSettled([...inFlight])
        .then(() => lease.release())
        .catch((err: unknown) => node.error(localiseError(RED, 'generate-text', err)))
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType('marketing-generate-text', MarketingGenerateTextNode);
};
