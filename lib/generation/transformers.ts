/**
 * The part of `@xenova/transformers` 2.17 the generator uses, typed by what we rely on
 * (its published typings are generated from JSDoc and too loose to help), and loaded with
 * a real dynamic `import()`: the package is ESM-only and Node-RED loads nodes with
 * `require()`. With `module: node16` TypeScript keeps this `import()` in the CommonJS output.
 */
import { inspect } from 'node:util';
import { truncate } from '../errors';

/** An onnxruntime tensor as the session takes and returns it. */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array | Uint8Array | ArrayLike<unknown>;
}

export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
}

export interface PreTrainedTokenizer {
  encode(text: string, textPair?: string | null, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: readonly number[], options?: { skip_special_tokens?: boolean }): string;
}

export interface CausalLanguageModel {
  readonly config: Record<string, unknown>;
  readonly session: InferenceSession;
  readonly generation_config?: Record<string, unknown>;
  /** Set by transformers.js for decoder-only architectures (key/value heads and their width). */
  readonly num_heads?: number;
  readonly dim_kv?: number;
  readonly num_layers?: number;
  generate(inputIds: unknown, generationConfig?: Record<string, unknown>): Promise<unknown>;
  dispose(): Promise<unknown>;
}

/** What `progress_callback` receives while files are read or downloaded. */
export interface LoadProgressEvent {
  status: 'initiate' | 'download' | 'progress' | 'done' | 'ready' | string;
  file?: string;
  loaded?: number;
  total?: number;
}

export interface PretrainedOptions {
  quantized?: boolean;
  progress_callback?: (event: LoadProgressEvent) => void;
  cache_dir?: string;
  local_files_only?: boolean;
  revision?: string;
}

/** transformers.js's process-wide settings (`env`) that decide where files come from. */
export interface TransformersEnv {
  allowRemoteModels: boolean;
  allowLocalModels: boolean;
  localModelPath: string;
  useFSCache: boolean;
  useBrowserCache: boolean;
  useCustomCache: boolean;
  cacheDir: string | null;
  remoteHost: string;
}

export interface TransformersApi {
  env: TransformersEnv;
  Tensor: new (type: string, data: ArrayLike<unknown>, dims: readonly number[]) => OrtTensor;
  AutoTokenizer: { from_pretrained(id: string, options?: PretrainedOptions): Promise<PreTrainedTokenizer> };
  AutoModelForCausalLM: { from_pretrained(id: string, options?: PretrainedOptions): Promise<CausalLanguageModel> };
  pipeline(task: string, model: string, options?: PretrainedOptions): Promise<(...args: unknown[]) => Promise<unknown>>;
}

/** Receives what transformers.js and onnxruntime would print on the console. */
export type LibraryLog = (level: 'warn' | 'error', text: string) => void;

let libraryLog: LibraryLog | undefined;

/**
 * Where transformers.js's and onnxruntime's console warnings and errors go (Node-RED's log):
 * they print stack traces and "Using `wasm` as a fallback" straight to stderr, where a
 * Node-RED service's log never sees them. Without a log they go nowhere.
 */
export function setLibraryLog(log: LibraryLog | undefined): void {
  libraryLog = log;
}

const LIBRARY_FRAME = /[\\/]node_modules[\\/](?:@xenova[\\/]transformers|onnxruntime-(?:node|web|common))[\\/]/;
const MAX_LIBRARY_TEXT = 500;

/**
 * Wraps console.warn and console.error once: a call made by transformers.js or onnxruntime
 * (told by the calling stack frame) goes to the library log; every other call is untouched.
 * Done before the libraries load, since onnxruntime's wasm build binds console.warn then.
 */
function routeLibraryConsole(): void {
  for (const level of ['warn', 'error'] as const) {
    const original = console[level];
    console[level] = (...args: unknown[]): void => {
      const caller = new Error().stack?.split('\n')[2] ?? '';
      if (!LIBRARY_FRAME.test(caller)) {
        original.apply(console, args);
        return;
      }
      // An Error is logged by its message: its stack trace is the library's, of no use in a log.
      const text = args.map((arg) => (arg instanceof Error ? arg.message : typeof arg === 'string' ? arg : inspect(arg, { depth: 1, breakLength: Infinity }))).join(' ');
      libraryLog?.(level, truncate(text, MAX_LIBRARY_TEXT));
    };
  }
}

let api: Promise<TransformersApi> | undefined;

/** The transformers.js module, imported once per process. */
export function loadTransformers(): Promise<TransformersApi> {
  if (!api) {
    routeLibraryConsole();
    api = import('@xenova/transformers') as Promise<unknown> as Promise<TransformersApi>;
  }
  return api;
}

type EnvSettings = Partial<Pick<TransformersEnv, 'allowRemoteModels' | 'allowLocalModels' | 'localModelPath' | 'useFSCache' | 'remoteHost'>>;

let envLock: Promise<unknown> = Promise.resolve();

/**
 * Runs `task` with transformers.js's `env` set to `settings`, then puts the previous values
 * back. `env` is shared by everything in the process that uses transformers.js, and a load
 * reads it at every file, so loads run one at a time with the settings they need.
 */
export function withTransformersEnv<T>(settings: EnvSettings, task: (transformers: TransformersApi) => Promise<T>): Promise<T> {
  const run = envLock.then(async () => {
    const transformers = await loadTransformers();
    const env = transformers.env as unknown as Record<string, unknown>;
    const saved = Object.fromEntries(Object.keys(settings).map((key) => [key, env[key]]));
    Object.assign(env, settings);
    try {
      return await task(transformers);
    } finally {
      Object.assign(env, saved);
    }
  });
  envLock = run.catch(() => undefined);
  return run;
}
