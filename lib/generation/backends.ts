/**
 * The two backends a `marketing-llm` node can choose: the model in this process
 * (transformers.js + onnxruntime, the default) or an inference server over the
 * OpenAI-compatible API. Everything that depends on which one it is goes through here.
 */
import type { TextGenerator } from './generator';
import {
  loadLocalModel,
  localModelKey,
  localModelName,
  resolveLocalModelSpec,
  type LoadProgressListener,
  type LocalModelSettings,
  type LocalModelSpec,
} from './model-loader';
import { loadServerModel, resolveServerModelSpec, serverModelKey, serverModelName, type ServerModelSettings, type ServerModelSpec } from './openai-server';

export type ModelSpec = LocalModelSpec | ServerModelSpec;

/** The marketing-llm node's fields: `backend` chooses which of the two sets counts. */
export interface ModelSettings extends LocalModelSettings, ServerModelSettings {
  /** `local` (default) or `openai`. */
  backend?: string;
}

/** Loads the model a spec describes into a generator. */
export type ModelLoader = (spec: ModelSpec, onProgress: LoadProgressListener) => Promise<TextGenerator>;

/**
 * The model `settings` describe; `apiKey` is the node's credential (server only). No
 * settings at all means the bundled demo model.
 */
export function resolveModelSpec(settings: ModelSettings, baseDir: string, apiKey?: unknown): ModelSpec {
  return settings.backend === 'openai' ? resolveServerModelSpec(settings, apiKey) : resolveLocalModelSpec(settings, baseDir);
}

/** The name shown in `msg.generation.model` and in messages. */
export function modelName(spec: ModelSpec): string {
  return spec.source === 'server' ? serverModelName(spec) : localModelName(spec);
}

/** Two specs with the same key share one model (one loaded copy, one queue). */
export function modelKey(spec: ModelSpec): string {
  return spec.source === 'server' ? serverModelKey(spec) : localModelKey(spec);
}

export const loadTextGenerator: ModelLoader = (spec, onProgress) =>
  spec.source === 'server' ? loadServerModel(spec) : loadLocalModel(spec, onProgress);
