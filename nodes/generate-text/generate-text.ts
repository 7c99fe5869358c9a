/**
 * `marketing-generate-text`: continues each prompt with the model of its `marketing-llm`
 * config node (the bundled demo model when none is chosen), in this process or on an
 * inference server. The backends, the shared model and its queue are in lib/generation/;
 * this file adapts them to Node-RED: options from the editor and `msg.options`, this node's
 * queue limit and per-message timeout, status, errors, and ending everything on close.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { isMarketingError, MarketingError } from '../../lib/errors';
import { generationOutput, readPrompts } from '../../lib/generation/messages';
import { resolveModelSpec, type ModelSpec } from '../../lib/generation/backends';
import { modelRegistry } from '../../lib/generation/model-registry';
import { setLibraryLog } from '../../lib/generation/transformers';
import {
  DEFAULT_GENERATION_OPTIONS,
  GENERATION_OPTION_NAMES,
  overriddenLengthOptions,
  resolveGenerationOptions,
  type GenerationOptions,
} from '../../lib/generation/options';
import { localiseError, showError, userDirectory } from '../common';

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
/** What a caller whose request a redeploy ended is asked to wait before trying again. */
const RETRY_AFTER_SECONDS = 5;

/** The part of Node's ServerResponse (an HTTP In node's `msg.res._res`) used to answer. */
interface HttpResponse {
  headersSent: boolean;
  writableEnded: boolean;
  writeHead(status: number, headers: Record<string, string | number>): HttpResponse;
  end(body: string): void;
}

/** The response of a message from an HTTP In node, when nobody has answered it yet. */
function unansweredResponse(message: Message): HttpResponse | undefined {
  const res = (message.res as { _res?: Partial<HttpResponse> } | undefined)?._res;
  if (!res || typeof res.writeHead !== 'function' || typeof res.end !== 'function') return undefined;
  return res.headersSent || res.writableEnded ? undefined : (res as HttpResponse);
}

/**
 * Answers the HTTP caller of a message that a stop or redeploy ended: 503 with Retry-After,
 * as an OpenAI-style JSON error. The flow cannot answer it: the nodes after this one and its
 * Catch nodes are stopping too, so without this the caller would wait for its timeout.
 */
function answerEndedRequest(message: Message, error: Error): boolean {
  const res = unansweredResponse(message);
  if (!res) return false;
  const body = JSON.stringify({ error: { message: error.message, type: 'server_error', code: 'closed' } });
  try {
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': RETRY_AFTER_SECONDS, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  } catch {
    return false; // the connection went away meanwhile: nobody is waiting
  }
  return true;
}

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
  setLibraryLog((level, text) => RED.log[level](RED._('generate-text.warnings.library', { text })));

  function MarketingGenerateTextNode(this: Node, config: GenerateTextNodeDef) {
    RED.nodes.createNode(this, config);
    serveMessages(this, config);
  }

  /** Wires a node to its shared model: status, input queue, timeouts, close. */
  function serveMessages(node: Node, config: GenerateTextNodeDef): void {
    const llm = RED.nodes.getNode(config.llm) as LlmConfigNode | null;
    const spec = llm?.spec ?? resolveModelSpec({}, userDirectory(RED));
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
    /** Messages a close ended, and how many of them were HTTP requests this node answered. */
    let endedByClose = 0;
    let answeredByClose = 0;
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
        // With continuous batching: the rows of every node's messages decoding together.
        const rows = model.rowsDecoding;
        const text = rows > 0 ? RED._('generate-text.status.generatingBatch', { rows, queue: waiting }) : RED._('generate-text.status.generating', { queue: waiting });
        node.status({ fill: 'blue', shape: 'dot', text });
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
    // The batch changes with every node's messages: shown at most every 250 ms, and only
    // while this node has messages of its own in it or waiting.
    let batchStatusTimer: NodeJS.Timeout | undefined;
    const onBatch = (): void => {
      if (batchStatusTimer || running + waiting === 0) return;
      batchStatusTimer = setTimeout(() => {
        batchStatusTimer = undefined;
        updateStatus();
      }, 250);
    };
    model.on('batch', onBatch);

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
          (err: unknown) => {
            if (closing && isMarketingError(err) && err.code === 'closed') {
              endedByClose++;
              if (answerEndedRequest(message, localiseError(RED, 'generate-text', err))) {
                // The caller has its answer: the message is over, and a Catch path answering
                // it again would only fail on a response already sent.
                answeredByClose++;
                done();
                return;
              }
            }
            fail(err, done);
          },
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

    node.on('close', (removed: boolean, done: () => void) => {
      closing = true;
      model.off('state', onModelState);
      model.off('progress', updateStatus);
      model.off('batch', onBatch);
      clearTimeout(batchStatusTimer);
      const closed = new MarketingError('closed', 'The node was closed or redeployed before this message was generated.');
      for (const controller of controllers) controller.abort(closed);
      // Queued messages end at once; a running generation stops after its current step.
      Promise.allSettled([...inFlight])
        .then(() => {
          // One line whatever Catch nodes exist: during a stop they are stopping too.
          if (endedByClose > 0) {
            const key = removed ? 'generate-text.warnings.endedByRemoval' : 'generate-text.warnings.endedByRedeploy';
            node.warn(RED._(key, { count: endedByClose, answered: answeredByClose }));
          }
          return lease.release();
        })
        .catch((err: unknown) => node.error(localiseError(RED, 'generate-text', err)))
        .finally(() => {
          node.status({});
          done();
        });
    });
  }

  RED.nodes.registerType('marketing-generate-text', MarketingGenerateTextNode);
};
