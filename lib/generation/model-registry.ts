/**
 * One loaded model per (source, options) per process, shared by every node that uses it:
 * a GPT-2 takes tens to hundreds of megabytes, and five nodes must not hold five copies; a
 * server's in-flight limit must hold for all its nodes together. Users acquire a lease and
 * release it when they close; the last release disposes the model. Work on a model runs in
 * arrival order, as many units at once as its backend serves with profit (`concurrency`).
 */
import { EventEmitter } from 'node:events';
import { MarketingError } from '../errors';
import { SharedResources } from '../shared';
import { loadTextGenerator, modelKey, modelName, type ModelLoader, type ModelSpec } from './backends';
import { throwIfAborted, type GenerationResult, type RequestControl, type TextGenerator, type WorkQueue } from './generator';
import type { GenerationOptions } from './options';
import { FifoScheduler } from './scheduler';

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'failed';

/** Resolves with `promise`, or rejects as soon as `signal` aborts (the promise goes on). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      try {
        throwIfAborted(signal);
      } catch (err) {
        reject(err);
      }
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A model shared by its users. Emits `state` (ModelState) when it changes, `progress`
 * (percent) while it loads, and `batch` when rows join or leave its shared batch.
 */
export class SharedModel extends EventEmitter {
  readonly name: string;
  private currentState: ModelState = 'unloaded';
  private loadPercent = 0;
  private failure: Error | undefined;
  private generator: TextGenerator | undefined;
  private loading: Promise<TextGenerator> | undefined;
  private disposed = false;
  /** Made when the generator is loaded, with the backend's concurrency; no work waits before. */
  private scheduler: FifoScheduler | undefined;

  constructor(
    readonly spec: ModelSpec,
    private readonly loader: ModelLoader,
  ) {
    super();
    // Every node using the model listens: dozens of nodes on one model are normal.
    this.setMaxListeners(0);
    this.name = modelName(spec);
  }

  get state(): ModelState {
    return this.currentState;
  }

  /** Load progress in percent while loading. */
  get progress(): number {
    return this.loadPercent;
  }

  /** Why the last load failed (state `failed`). */
  get error(): Error | undefined {
    return this.failure;
  }

  /** Units of work waiting for the model (with batching: requests not started), all users together. */
  get waiting(): number {
    return (this.scheduler?.waitingCount ?? 0) + (this.generator?.batching?.waitingCount ?? 0);
  }

  /** Rows decoding in the model's shared batch (0 without batching). */
  get rowsDecoding(): number {
    return this.generator?.batching?.rowsDecoding ?? 0;
  }

  /**
   * The loaded generator, loading it if needed. Concurrent callers share one load; after a
   * failed load, the next call tries again (the network may be back, the file replaced).
   */
  load(): Promise<TextGenerator> {
    if (this.disposed) return Promise.reject(released());
    if (this.generator) return Promise.resolve(this.generator);
    if (!this.loading) {
      this.loadPercent = 0;
      this.setState('loading');
      this.loading = this.loader(this.spec, (percent) => {
        this.loadPercent = percent;
        this.emit('progress', percent);
      })
        .then(
          async (generator) => {
            if (this.disposed) {
              await generator.dispose();
              throw released();
            }
            this.generator = generator;
            this.scheduler = new FifoScheduler(generator.concurrency);
            if (generator.batching) generator.batching.onChange = () => this.emit('batch');
            this.failure = undefined;
            this.setState('ready');
            return generator;
          },
          (err: unknown) => {
            this.failure = err instanceof Error ? err : new Error(String(err));
            if (!this.disposed) this.setState('failed');
            throw err;
          },
        )
        .finally(() => {
          this.loading = undefined;
        });
    }
    return this.loading;
  }

  /**
   * Generates when it is this request's turn (after loading the model if needed);
   * `onStart` is called when its first unit of work starts. An abort of `control.signal`
   * takes the request out of the queue, or stops it (between two decoding steps, or by
   * aborting its HTTP requests).
   */
  async generate(
    prompts: readonly string[],
    options: GenerationOptions,
    control: RequestControl = {},
  ): Promise<GenerationResult> {
    const generator = await abortable(this.load(), control.signal);
    // Requests the shared batch takes are queued and started by it (continuous batching).
    if (generator.batching?.accepts(options)) return generator.batching.generate(prompts, options, control);
    const scheduler = this.scheduler as FifoScheduler;
    let started = false;
    const queue: WorkQueue = (job, signal = control.signal) =>
      scheduler.run(() => {
        if (!started) {
          started = true;
          control.onStart?.();
        }
        return job();
      }, signal);
    return generator.generate(prompts, options, { ...control, queue });
  }

  /** Waits for running work, then frees the session. Called by the registry on the last release. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await this.scheduler?.whenIdle();
    await this.generator?.batching?.whenIdle();
    await this.loading?.catch(() => undefined);
    const generator = this.generator;
    this.generator = undefined;
    this.currentState = 'unloaded';
    this.removeAllListeners();
    await generator?.dispose();
  }

  private setState(state: ModelState): void {
    this.currentState = state;
    this.emit('state', state);
  }
}

function released(): MarketingError {
  return new MarketingError('modelReleased', 'The model was released (its nodes were closed or redeployed).');
}

/** A user's hold on a shared model. */
export interface ModelLease {
  readonly model: SharedModel;
  /** Gives the model back; the last release disposes it. Calling it twice does nothing. */
  release(): Promise<void>;
}

export class ModelRegistry {
  private readonly models = new SharedResources<SharedModel>((model) => model.dispose());

  constructor(private readonly loader: ModelLoader = loadTextGenerator) {}

  /** The shared model for `spec`, created (not loaded) on the first acquire. */
  acquire(spec: ModelSpec): ModelLease {
    const { value, release } = this.models.acquire(modelKey(spec), () => new SharedModel(spec, this.loader));
    return { model: value, release };
  }

  /** Number of models currently held (loaded or not). */
  get size(): number {
    return this.models.size;
  }

  /** Number of users holding the model for `spec` (0 when none). */
  users(spec: ModelSpec): number {
    return this.models.users(modelKey(spec));
  }
}

/** The process-wide registry every node uses. */
export const modelRegistry = new ModelRegistry();
