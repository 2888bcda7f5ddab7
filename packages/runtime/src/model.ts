import type {
  Conversation} from '@gptoss/harmony';
import {
  StreamableParser,
  loadHarmonyEncoding,
  type HarmonyEncoding,
  type HarmonyEvent,
  type Message,
  type Role,
} from '@gptoss/harmony';
import { openCheckpoint, type Checkpoint } from './checkpoint/open-checkpoint.js';
import { InvalidArgumentError } from './errors.js';
import { Sampler, type SampledToken, type SamplingOptions, type TokenLogprob } from './sampling.js';
import { selectBackend, type BackendChoice } from './select-backend.js';
import { Scheduler } from './scheduler.js';
import type { BackendName, LoadOptions, LoadedModel, ModelConfig, Sequence } from './backend/types.js';

export interface LoadModelOptions extends LoadOptions {
  /** Which backend; default `'auto'` (fastest available). */
  backend?: BackendName | 'auto';
}

export interface GenerateOptions extends SamplingOptions {
  /** Stop after this many generated tokens. Default 512. */
  maxTokens?: number;
  /** Tokens that end generation (the last one is included). Default: harmony's stopTokensForAssistantActions. */
  stopTokens?: number[];
  /** Role the completion is rendered for (default `assistant`). */
  role?: Role;
  signal?: AbortSignal;
  /**
   * Let a backend that can (webgpu) sample on the device and keep decode steps in flight, reading back token ids
   * instead of logits: used when neither `minP` nor `topLogprobs` is asked for. Draws then come from the device's
   * seeded generator (same seed → same tokens on that backend). Default true; false samples every token here.
   */
  deviceSampling?: boolean;
}

export interface GenerationStats {
  promptTokens: number;
  /** Prompt tokens that were served from the cache (shared prefix with the previous call). */
  cachedTokens: number;
  completionTokens: number;
  prefillMs: number;
  decodeMs: number;
  /** Tokens per second over the prefilled (uncached) prompt tokens. */
  prefillTokensPerSecond: number;
  /** Generated tokens per second after the first one. */
  decodeTokensPerSecond: number;
}

export type StopReason = 'stop-token' | 'max-tokens' | 'context-full';

export type GenerateEvent =
  | ({ type: 'token'; token: number; logprob: number; topLogprobs?: TokenLogprob[] })
  | HarmonyEvent
  | {
      type: 'done';
      /** Messages parsed from the completion (a message cut off by max tokens is included, unfinished). */
      messages: Message[];
      tokens: number[];
      stopReason: StopReason;
      stats: GenerationStats;
    };

/**
 * One conversation's KV cache. Each generation keeps what it shares with the previous prompt of the same session
 * (prefix reuse), so chat turns only prefill what is new. Generations of one session run one after another;
 * generations of different sessions run concurrently, their decode steps batched together.
 */
/** Tokens a streaming device loop runs before it lets queued work (other sessions) use the model. */
const STREAM_SLICE = 64;

export class Session {
  #lock: Promise<void> = Promise.resolve();
  #closed = false;

  /** @internal */
  constructor(
    private readonly model: Model,
    private readonly scheduler: Scheduler,
    readonly sequence: Sequence,
    private readonly onClose: (s: Session) => void = () => undefined,
  ) {}

  /** Harmony generation; see {@link Model.generate}. */
  async *generate(conversation: Conversation, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    const role = options.role ?? 'assistant';
    const prompt = this.model.encoding.renderConversationForCompletion(conversation, role);
    const parser = new StreamableParser(this.model.encoding, role, { strict: false });
    yield* this.#run(prompt, options, parser);
  }

  /** Raw-token completion; see {@link Model.complete}. */
  async *complete(prompt: ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    yield* this.#run(Array.from(prompt), options, null);
  }

  async *#run(prompt: number[], options: GenerateOptions, parser: StreamableParser | null): AsyncGenerator<GenerateEvent> {
    if (this.#closed) throw new InvalidArgumentError('this session is closed');
    this.model.checkTokens(prompt);
    if (prompt.length === 0) throw new InvalidArgumentError('the prompt is empty');
    const maxTokens = options.maxTokens ?? 512;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) throw new InvalidArgumentError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
    const stop = new Set(options.stopTokens ?? this.model.encoding.stopTokensForAssistantActions());
    const sampler = new Sampler(options);
    const signal = options.signal;
    const seq = this.sequence;
    const capacity = seq.capacity;
    if (prompt.length >= capacity) {
      throw new InvalidArgumentError(`the prompt has ${prompt.length} tokens; this model was loaded with a context of ${capacity}`);
    }

    // One generation at a time per session: the sequence is its state.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const prev = this.#lock;
    this.#lock = prev.then(() => mine);
    await prev;
    try {
      signal?.throwIfAborted();
      // Prefix reuse: keep the cached positions shared with this prompt, prefill at least the last prompt token.
      let common = 0;
      const cached = seq.tokens;
      while (common < cached.length && common < prompt.length - 1 && cached[common] === prompt[common]) common++;
      const t0 = performance.now();
      let logits = await this.scheduler.exclusive(async () => {
        seq.truncate(common);
        return this.scheduler.loaded.prefill(seq, prompt.slice(common), { logits: 'last' });
      });
      const prefillMs = performance.now() - t0;
      const tokens: number[] = [];
      let stopReason: StopReason = 'max-tokens';
      let decodeMs = 0;
      const loaded = this.scheduler.loaded;
      const device =
        loaded.generate && options.deviceSampling !== false && sampler.minP === 0 && sampler.topLogprobs === 0
          ? { temperature: sampler.temperature, topK: sampler.topK, topP: sampler.topP, seed: options.seed ?? Math.floor(Math.random() * 2 ** 32) }
          : null;
      // Device chunks start small (first tokens stream out early) and grow: each chunk drains the device's pipeline.
      // A backend that streams (generateStream) runs one device loop per slice instead, yielding each token as it
      // comes; a slice gives the device up to queued work after STREAM_SLICE tokens.
      let chunk = 4;
      let pending: SampledToken[] = maxTokens > 0 ? [sampler.sample(logits)] : [];
      /** Takes token s, with `fed` tokens in the cache before it: the events to yield, and why to stop (or null). */
      const take = (s: SampledToken, fed: number): { events: GenerateEvent[]; end: StopReason | null } => {
        tokens.push(s.token);
        const events: GenerateEvent[] = [{ type: 'token', token: s.token, logprob: s.logprob, ...(s.topLogprobs ? { topLogprobs: s.topLogprobs } : {}) }];
        if (parser) events.push(...parser.push(s.token));
        let end: StopReason | null = null;
        if (stop.has(s.token)) end = 'stop-token';
        else if (tokens.length >= maxTokens) end = 'max-tokens';
        else if (fed + 1 > capacity) end = 'context-full';
        return { events, end };
      };
      run: while (pending.length > 0) {
        for (let i = 0; i < pending.length; i++) {
          // The cache holds every token before s (a device chunk already fed the ones before its last).
          const fed = seq.length - (pending.length - 1 - i);
          const { events, end } = take(pending[i], fed);
          yield* events;
          if (end) {
            stopReason = end;
            if (seq.length > fed) seq.truncate(fed);
            break run;
          }
        }
        signal?.throwIfAborted();
        const last = pending[pending.length - 1].token;
        if (device && loaded.generateStream) {
          // One device loop per slice: the token being taken is never in the cache yet, so `fed` is the cache length.
          // decodeMs counts the waits for tokens, not the consumer's time between them.
          let prev = last;
          for (;;) {
            const budget = Math.min(maxTokens - tokens.length, capacity - seq.length);
            if (budget <= 0) {
              stopReason = 'context-full';
              break run;
            }
            const release = await this.scheduler.hold();
            let t1 = performance.now();
            let n = 0;
            try {
              for await (const d of loaded.generateStream(seq, prev, { ...device, maxTokens: budget, stop: (t) => stop.has(t) })) {
                decodeMs += performance.now() - t1;
                const { events, end } = take(d, seq.length);
                yield* events;
                t1 = performance.now();
                n++;
                if (end) {
                  stopReason = end;
                  break run;
                }
                signal?.throwIfAborted();
                prev = d.token;
                if (n >= STREAM_SLICE && this.scheduler.waiting > 0) break;
              }
            } finally {
              release();
            }
            if (n === 0) break run;
          }
        }
        const t1 = performance.now();
        if (device) {
          const maxChunk = Math.min(chunk, maxTokens - tokens.length, capacity - seq.length);
          chunk = Math.min(32, chunk * 2);
          pending = await this.scheduler.exclusive(() =>
            loaded.generate!(seq, last, { ...device, maxTokens: maxChunk, stop: (t) => stop.has(t) }),
          );
        } else {
          logits = await this.scheduler.decode(seq, last);
          pending = [sampler.sample(logits)];
        }
        decodeMs += performance.now() - t1;
      }
      let messages: Message[] = [];
      if (parser) {
        for (const ev of parser.end()) yield ev;
        messages = parser.messages;
      }
      const decoded = Math.max(0, tokens.length - 1);
      yield {
        type: 'done',
        messages,
        tokens,
        stopReason,
        stats: {
          promptTokens: prompt.length,
          cachedTokens: common,
          completionTokens: tokens.length,
          prefillMs,
          decodeMs,
          prefillTokensPerSecond: ((prompt.length - common) / prefillMs) * 1000,
          decodeTokensPerSecond: decoded > 0 ? (decoded / decodeMs) * 1000 : 0,
        },
      };
    } finally {
      release();
    }
  }

  /**
   * Frees the session's KV cache. A generation still running on it fails at its next step (waiting for it instead
   * could hang forever on an iterator its consumer abandoned without `return()`).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.onClose(this);
    await this.scheduler.exclusive(async () => this.sequence.dispose());
  }
}

/**
 * A loaded model: a checkpoint on a backend plus the harmony encoding. Every backend call goes through one scheduler,
 * so a Model can be shared freely; `generate` uses a built-in session, `createSession()` makes more (one per
 * conversation) whose generations run concurrently with batched decode steps.
 */
export class Model {
  readonly encoding: HarmonyEncoding;
  readonly #scheduler: Scheduler;
  readonly #default: Session;
  readonly #sessions = new Set<Session>();

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly loaded: LoadedModel,
    readonly choice: BackendChoice,
    maxBatch: number,
  ) {
    this.encoding = loadHarmonyEncoding('HarmonyGptOss');
    this.#scheduler = new Scheduler(loaded, maxBatch);
    this.#default = this.createSession();
  }

  get config(): ModelConfig {
    return this.loaded.config;
  }
  get backend(): BackendName {
    return this.loaded.backend;
  }
  /** Sizes of the decode batches issued so far. */
  get decodeBatchSizes(): readonly number[] {
    return this.#scheduler.batchSizes;
  }

  /** @internal */
  static async create(checkpoint: Checkpoint, loaded: LoadedModel, choice: BackendChoice, maxBatch = 16): Promise<Model> {
    return new Model(checkpoint, loaded, choice, maxBatch);
  }

  /** @internal */
  checkTokens(tokens: ArrayLike<number>): void {
    const V = this.config.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new InvalidArgumentError(`token ${i} is ${t}, outside this model's vocabulary [0, ${V})`);
      }
    }
  }

  /** A new conversation state with its own KV cache (up to `capacity` positions, default the model's context). */
  createSession(options: { capacity?: number } = {}): Session {
    const s = new Session(this, this.#scheduler, this.loaded.createSequence(options), (x) => this.#sessions.delete(x));
    this.#sessions.add(s);
    return s;
  }

  /** Logits for every position of `tokens` in one prefill: Float32Array [tokens.length, vocab], row-major. */
  async logits(tokens: ArrayLike<number>): Promise<Float32Array> {
    this.checkTokens(tokens);
    if (tokens.length === 0) throw new InvalidArgumentError('logits() needs at least one token');
    if (tokens.length > this.loaded.maxContext) {
      throw new InvalidArgumentError(`${tokens.length} tokens exceed the context of ${this.loaded.maxContext} (raise maxContext when loading)`);
    }
    return this.#scheduler.exclusive(async () => {
      const seq = this.loaded.createSequence({ capacity: tokens.length });
      try {
        return await this.loaded.prefill(seq, tokens, { logits: 'all' });
      } finally {
        seq.dispose();
      }
    });
  }

  /**
   * Samples a completion of raw prompt tokens on the built-in session. Yields `{type:'token'}` per token and a final
   * `{type:'done'}` (no harmony parsing; see generate for that).
   */
  complete(prompt: ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    return this.#default.complete(prompt, options);
  }

  /**
   * Renders `conversation` for completion by `options.role` (assistant), samples until a stop token of harmony's
   * stopTokensForAssistantActions (`<|return|>`, `<|call|>`) or maxTokens, and streams token events interleaved with
   * harmony parser events (`message-start`, `content-delta`, `message-end`), then `done` with the parsed messages and
   * speed. Aborting `options.signal` stops after the current step and throws the signal's reason.
   *
   * @example
   * for await (const ev of model.generate(Conversation.fromMessages([Message.fromRoleAndContent('user', 'Hi')]))) {
   *   if (ev.type === 'content-delta' && ev.channel === 'final') process.stdout.write(ev.delta);
   * }
   */
  generate(conversation: Conversation, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    return this.#default.generate(conversation, options);
  }

  async close(): Promise<void> {
    for (const s of [...this.#sessions]) await s.close();
    await this.#scheduler.exclusive(async () => {
      await this.loaded.dispose();
      await this.checkpoint.close();
    });
  }
}

/**
 * Opens a checkpoint directory (either layout), validates it, and loads it onto a backend.
 *
 * @example
 * const model = await loadModel('./gpt-oss-20b', { backend: 'auto' });
 * console.log(model.backend, model.choice.skipped);
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  const choice = await selectBackend(options.backend ?? 'auto');
  const checkpoint = await openCheckpoint(path);
  try {
    const loaded = await choice.backend.load(checkpoint, options);
    return await Model.create(checkpoint, loaded, choice, options.maxBatch ?? 16);
  } catch (e) {
    await checkpoint.close();
    throw e;
  }
}


