/**
 * Loading a model (tokenizer + ONNX decoder) with transformers.js from the bundled demo
 * model, a local folder or the Hugging Face hub, with errors that say what was tried and
 * what to do about it.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { MarketingError, isMarketingError } from '../errors';
import { OnnxTextGenerator } from './onnx-generator';
import { withTransformersEnv, type LoadProgressEvent, type PretrainedOptions, type TransformersApi } from './transformers';

export type LocalModelSource = 'bundled' | 'folder' | 'hub';

export interface LocalModelSpec {
  source: LocalModelSource;
  /** The folder (absolute path) or the hub model id; unused for the bundled model. */
  location: string;
  /** The int8 `decoder_model_merged_quantized.onnx` rather than `decoder_model_merged.onnx`. */
  quantized: boolean;
  /** Hub only: whether files missing from the cache may be downloaded. */
  allowDownloads: boolean;
  /** Hub only: where downloaded files are kept (absolute path). */
  cacheDir: string;
  /** Hub only: the hub's address (a mirror may be used), default https://huggingface.co/. */
  remoteHost: string;
  /**
   * The most rows (sequences) decoded together across messages; 1 (or absent) decodes one
   * message at a time. See lib/generation/batch-decoder.ts.
   */
  batchRows?: number | string;
}

/** Rows decoded together across messages by default (the marketing-llm node's "batch rows"). */
export const DEFAULT_BATCH_ROWS = 1;
/** The most a user may set: each row holds its own key/value cache. */
export const MAX_BATCH_ROWS = 256;

export const DEFAULT_REMOTE_HOST = 'https://huggingface.co/';

/** The demo model shipped in the package, `models/demo-gpt2` (this file is dist/lib/generation/). */
export const BUNDLED_MODEL_DIR = resolve(__dirname, '..', '..', '..', 'models', 'demo-gpt2');
export const BUNDLED_MODEL_NAME = 'demo-gpt2';

/** Reports load progress in whole percent, 0 to 99 (100 is "ready", after the session is built). */
export type LoadProgressListener = (percent: number) => void;

/** The name shown in `msg.generation.model` and in messages. */
export function localModelName(spec: LocalModelSpec): string {
  return spec.source === 'bundled' ? BUNDLED_MODEL_NAME : spec.location;
}

/** Two specs with the same key share one loaded model. */
export function localModelKey(spec: LocalModelSpec): string {
  const { source, quantized } = spec;
  const batchRows = String(spec.batchRows ?? 1);
  if (source === 'hub') return JSON.stringify([source, spec.location, quantized, spec.allowDownloads, spec.cacheDir, spec.remoteHost, batchRows]);
  return JSON.stringify([source, source === 'folder' ? resolve(spec.location) : BUNDLED_MODEL_DIR, quantized, batchRows]);
}

function onnxFile(quantized: boolean): string {
  return `onnx/decoder_model_merged${quantized ? '_quantized' : ''}.onnx`;
}

const FOLDER_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** Hub ids are `name` or `owner/name` made of letters, digits, `-`, `_` and `.`. */
const HUB_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function checkFolder(folder: string, quantized: boolean): Promise<void> {
  const info = await stat(folder).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new MarketingError(
      'modelFolderMissing',
      `The model folder ${folder} does not exist. Check the folder in the marketing-llm node (relative paths start at the Node-RED user directory), or use the bundled demo model.`,
      { path: folder },
    );
  }
  const wanted = [...FOLDER_FILES, onnxFile(quantized)];
  const missing: string[] = [];
  for (const file of wanted) if (!(await exists(join(folder, file)))) missing.push(file);
  if (missing.length === 1 && missing[0] === onnxFile(quantized) && (await exists(join(folder, onnxFile(!quantized))))) {
    // The folder has the other variant of the model: the "quantized" switch is wrong.
    const [code, turn] = quantized ? ['quantizedFileMissing', 'off'] : ['fullPrecisionFileMissing', 'on'];
    throw new MarketingError(
      code,
      `The model folder ${folder} has ${onnxFile(!quantized)} but not ${onnxFile(quantized)}: turn "quantized" ${turn} in the marketing-llm node.`,
      { path: folder, file: onnxFile(quantized), other: onnxFile(!quantized) },
    );
  }
  if (missing.length > 0) {
    throw new MarketingError(
      'modelFilesMissing',
      `The model folder ${folder} lacks ${missing.join(', ')}. A transformers.js model folder holds ${wanted.join(', ')}.`,
      { path: folder, files: missing.join(', '), wanted: wanted.join(', ') },
    );
  }
}

/** Turns transformers.js's byte counts per file into one monotonic percentage. */
function progressTracker(onProgress: LoadProgressListener): (event: LoadProgressEvent) => void {
  const files = new Map<string, { loaded: number; total: number }>();
  let reported = -1;
  return (event) => {
    if (!event.file) return;
    if (event.status === 'progress' && event.total) {
      files.set(event.file, { loaded: event.loaded ?? 0, total: event.total });
    } else if (event.status === 'done') {
      const file = files.get(event.file);
      if (file) file.loaded = file.total;
    } else {
      return;
    }
    let loaded = 0;
    let total = 0;
    for (const file of files.values()) {
      loaded += file.loaded;
      total += file.total;
    }
    const percent = Math.min(99, Math.floor((100 * loaded) / total));
    if (percent > reported) {
      reported = percent;
      onProgress(percent);
    }
  };
}

function reasonOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
  return cause ? `${err.message}: ${cause.code ?? cause.message}` : err.message;
}

type ErrorMapper = (err: unknown, part: 'tokenizer' | 'model') => Promise<MarketingError>;

async function instantiate(
  transformers: TransformersApi,
  id: string,
  options: PretrainedOptions,
  name: string,
  mapError: ErrorMapper,
  batchRows: number,
): Promise<OnnxTextGenerator> {
  const [tokenizer, model] = await Promise.allSettled([
    transformers.AutoTokenizer.from_pretrained(id, options),
    transformers.AutoModelForCausalLM.from_pretrained(id, options),
  ]);
  if (tokenizer.status === 'rejected' || model.status === 'rejected') {
    if (model.status === 'fulfilled') await model.value.dispose();
    throw await (model.status === 'rejected' ? mapError(model.reason, 'model') : mapError((tokenizer as PromiseRejectedResult).reason, 'tokenizer'));
  }
  try {
    return new OnnxTextGenerator(name, tokenizer.value, model.value, transformers.Tensor, batchRows);
  } catch (err) {
    await model.value.dispose();
    throw err;
  }
}

function incompatibleType(err: unknown): MarketingError | undefined {
  const message = reasonOf(err);
  if (!/Unsupported model type|not compatible with `\.generate\(\)`/.test(message)) return undefined;
  return new MarketingError('modelIncompatible', `The model cannot be used for text generation here: ${message}.`, { reason: message });
}

/** The JSON files transformers.js reads from a model folder, in the order it reads them. */
const JSON_FILES = ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json'];

/**
 * The first JSON file of `folder` that does not parse. transformers.js's SyntaxError names
 * neither the file nor anything but the file's first characters, which must not reach a
 * message (the "model" could be any file the Node-RED user can read).
 */
async function firstInvalidJson(folder: string): Promise<string | undefined> {
  for (const file of JSON_FILES) {
    const text = await readFile(join(folder, file), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      JSON.parse(text);
    } catch {
      return file;
    }
  }
  return undefined;
}

/**
 * Why a file failed, naming files relative to the model folder and never quoting their
 * content: a JSON error says "not valid JSON", other texts lose the folder's absolute path.
 */
function loadFailureReason(err: unknown, folder: string): string {
  if (err instanceof SyntaxError) return 'not valid JSON';
  return reasonOf(err).split(folder + sep).join('').split(folder).join('.').slice(0, 300);
}

/** A JSON file that does not parse, named relative to the model folder. */
async function invalidJson(model: string, folder: string, fallbackFile: string): Promise<MarketingError> {
  const file = (await firstInvalidJson(folder)) ?? fallbackFile;
  return invalidFile(model, file, 'not valid JSON');
}

function invalidFile(model: string, file: string, reason: string): MarketingError {
  return new MarketingError(
    'modelInvalid',
    `Could not load ${file} of model ${model}: ${reason}. The file may be corrupt or incomplete (copy or download it again), or not an ONNX text-generation model in transformers.js layout.`,
    { model, file, reason },
  );
}

function loadFromFolder(
  folder: string,
  spec: LocalModelSpec,
  name: string,
  progress_callback: PretrainedOptions['progress_callback'],
  rows: number,
) {
  // transformers.js finds local models as <localModelPath>/<id>/<file>; its file cache is
  // off so that an old cached copy never shadows the folder's files.
  const settings = { allowLocalModels: true, localModelPath: dirname(folder) + sep, allowRemoteModels: false, useFSCache: false };
  // Errors name the model by its folder's base name and files relative to it: they reach
  // flows, logs and (example 04) HTTP callers, which have no business with this machine's paths.
  const model = basename(folder);
  const mapError: ErrorMapper = async (err, part) => {
    if (isMarketingError(err)) return err;
    if (err instanceof SyntaxError) return invalidJson(model, folder, part === 'tokenizer' ? 'tokenizer.json' : 'config.json');
    const file = part === 'tokenizer' ? 'tokenizer.json / tokenizer_config.json' : onnxFile(spec.quantized);
    return incompatibleType(err) ?? invalidFile(model, file, loadFailureReason(err, folder));
  };
  return withTransformersEnv(settings, (transformers) =>
    instantiate(
      transformers,
      basename(folder),
      { quantized: spec.quantized, progress_callback, local_files_only: true },
      name,
      mapError,
      rows,
    ),
  );
}

function loadFromHub(spec: LocalModelSpec, name: string, progress_callback: PretrainedOptions['progress_callback'], rows: number) {
  const id = spec.location;
  // Cached files live at <cacheDir>/<id>/<file>, so with the cache dir as the local model
  // path a cached model loads without the network.
  const settings = {
    allowLocalModels: true,
    localModelPath: spec.cacheDir.endsWith(sep) ? spec.cacheDir : spec.cacheDir + sep,
    allowRemoteModels: spec.allowDownloads,
    useFSCache: true,
    remoteHost: spec.remoteHost,
  };
  const mapError: ErrorMapper = async (err, part) => {
    if (isMarketingError(err)) return err;
    const cached = join(spec.cacheDir, id);
    if (err instanceof SyntaxError) return invalidJson(id, cached, part === 'tokenizer' ? 'tokenizer.json' : 'config.json');
    const reason = loadFailureReason(err, cached);
    if (/local_files_only=true|allowRemoteModels=false/.test(reason)) {
      return new MarketingError(
        'modelNotCached',
        `Model ${id} is not in the cache ${spec.cacheDir} and downloads are off. Allow downloads in the marketing-llm node once while online, or copy the model files into ${join(spec.cacheDir, id)}.`,
        { model: id, cacheDir: spec.cacheDir },
      );
    }
    if (/Could not locate file|Unauthorized access|Error \(\d+\) occurred/.test(reason)) {
      return new MarketingError(
        'modelNotFound',
        `Model ${id} was not found at ${spec.remoteHost} (${reason}). Check the model id: it must be an ONNX model in transformers.js layout, such as Xenova/gpt2.`,
        { model: id, host: spec.remoteHost, reason },
      );
    }
    if (/fetch failed|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ECONNRESET|network/i.test(reason)) {
      return new MarketingError(
        'downloadFailed',
        `Could not download model ${id} from ${spec.remoteHost} (${reason}). Check the network or proxy; to work offline, download the model once, or use a local folder.`,
        { model: id, host: spec.remoteHost, reason },
      );
    }
    return incompatibleType(err) ?? invalidFile(id, part === 'tokenizer' ? 'tokenizer.json' : onnxFile(spec.quantized), reason);
  };
  return withTransformersEnv(settings, (transformers) =>
    instantiate(
      transformers,
      id,
      { quantized: spec.quantized, progress_callback, cache_dir: spec.cacheDir, local_files_only: !spec.allowDownloads },
      name,
      mapError,
      rows,
    ),
  );
}

/** Loads the model `spec` describes into this process; progress goes to `onProgress`. */
export async function loadLocalModel(spec: LocalModelSpec, onProgress: LoadProgressListener): Promise<OnnxTextGenerator> {
  const name = localModelName(spec);
  const rows = checkedBatchRows(spec.batchRows);
  const progress = progressTracker(onProgress);
  if (spec.source === 'hub') {
    if (!HUB_ID.test(spec.location) || spec.location.includes('..')) {
      throw new MarketingError('badModelId', `${JSON.stringify(spec.location)} is not a hub model id such as Xenova/gpt2.`, { model: spec.location });
    }
    return loadFromHub(spec, name, progress, rows);
  }
  const folder = spec.source === 'bundled' ? BUNDLED_MODEL_DIR : resolve(spec.location);
  await checkFolder(folder, spec.quantized);
  return loadFromFolder(folder, spec, name, progress, rows);
}

/** How a user describes a local model (the marketing-llm node's fields); every field is optional. */
export interface LocalModelSettings {
  source?: string;
  folder?: string;
  model?: string;
  quantized?: boolean | string;
  allowDownloads?: boolean | string;
  cacheDir?: string;
  remoteHost?: string;
  /** Rows decoded together across messages (1 = one message at a time); default DEFAULT_BATCH_ROWS. */
  batchRows?: number | string;
}

/** Where downloads go by default, inside the base (Node-RED user) directory. */
export const DEFAULT_CACHE_FOLDER = join('marketing-automation', 'models');

function flag(value: unknown, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  return value === true || value === 'true';
}

/**
 * The model `settings` describe; relative folders are taken from `baseDir` (the Node-RED
 * user directory). No settings at all means the bundled demo model.
 */
export function resolveLocalModelSpec(settings: LocalModelSettings, baseDir: string): LocalModelSpec {
  const source: LocalModelSource = settings.source === 'folder' || settings.source === 'hub' ? settings.source : 'bundled';
  const inBaseDir = (path: string): string => resolve(baseDir, path);
  const location =
    source === 'folder' ? inBaseDir((settings.folder ?? '').trim()) : source === 'hub' ? (settings.model ?? '').trim() : '';
  return {
    source,
    location,
    quantized: flag(settings.quantized, true),
    allowDownloads: flag(settings.allowDownloads, true),
    cacheDir: inBaseDir((settings.cacheDir ?? '').trim() || DEFAULT_CACHE_FOLDER),
    remoteHost: (settings.remoteHost ?? '').trim() || DEFAULT_REMOTE_HOST,
    batchRows: settings.batchRows === undefined || String(settings.batchRows).trim() === '' ? DEFAULT_BATCH_ROWS : settings.batchRows,
  };
}

/** The spec's batch rows, checked when the model loads (a wrong value fails the load with a message to act on). */
export function checkedBatchRows(value: unknown): number {
  if (value === undefined) return 1;
  const rows = Number(value);
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_BATCH_ROWS) {
    throw new MarketingError('badBatchRows', `Batch rows is ${String(value)}: expected an integer from 1 to ${MAX_BATCH_ROWS}.`, {
      value: String(value),
      max: MAX_BATCH_ROWS,
    });
  }
  return rows;
}
