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
import { Sampler, type SamplingOptions, type TokenLogprob } from './sampling.js';
import { selectBackend, type BackendChoice } from './select-backend.js';
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
 * A loaded model: a checkpoint on a backend plus the harmony encoding. Calls are serialised, so a Model can be
 * shared; one built-in sequence caches the previous prompt so that chat turns only prefill what is new.
 */
export class Model {
  readonly encoding: HarmonyEncoding;
  readonly #seq: Sequence;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly checkpoint: Checkpoint,
    readonly loaded: LoadedModel,
    readonly choice: BackendChoice,
  ) {
    this.encoding = loadHarmonyEncoding('HarmonyGptOss');
    this.#seq = loaded.createSequence();
  }

  get config(): ModelConfig {
    return this.loaded.config;
  }
  get backend(): BackendName {
    return this.loaded.backend;
  }

  /** @internal */
  static async create(checkpoint: Checkpoint, loaded: LoadedModel, choice: BackendChoice): Promise<Model> {
    return new Model(checkpoint, loaded, choice);
  }

  #exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #check(tokens: ArrayLike<number>): void {
    const V = this.config.vocabSize;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) {
        throw new InvalidArgumentError(`token ${i} is ${t}, outside this model's vocabulary [0, ${V})`);
      }
    }
  }

  /** Logits for every position of `tokens` in one prefill: Float32Array [tokens.length, vocab], row-major. */
  async logits(tokens: ArrayLike<number>): Promise<Float32Array> {
    this.#check(tokens);
    if (tokens.length === 0) throw new InvalidArgumentError('logits() needs at least one token');
    if (tokens.length > this.loaded.maxContext) {
      throw new InvalidArgumentError(`${tokens.length} tokens exceed the context of ${this.loaded.maxContext} (raise maxContext when loading)`);
    }
    return this.#exclusive(async () => {
      const seq = this.loaded.createSequence({ capacity: tokens.length });
      try {
        return await this.loaded.prefill(seq, tokens, { logits: 'all' });
      } finally {
        seq.dispose();
      }
    });
  }

  /**
   * Samples a completion of raw prompt tokens. Yields `{type:'token'}` per token and a final `{type:'done'}` (no
   * harmony parsing; see generate for that).
   */
  async *complete(prompt: ArrayLike<number>, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    yield* this.#run(Array.from(prompt), options, null);
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
  async *generate(conversation: Conversation, options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    const role = options.role ?? 'assistant';
    const prompt = this.encoding.renderConversationForCompletion(conversation, role);
    const parser = new StreamableParser(this.encoding, role, { strict: false });
    yield* this.#run(prompt, options, parser);
  }

  async *#run(prompt: number[], options: GenerateOptions, parser: StreamableParser | null): AsyncGenerator<GenerateEvent> {
    this.#check(prompt);
    if (prompt.length === 0) throw new InvalidArgumentError('the prompt is empty');
    const maxTokens = options.maxTokens ?? 512;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 0)) throw new InvalidArgumentError(`maxTokens must be a non-negative integer, got ${maxTokens}`);
    const stop = new Set(options.stopTokens ?? this.encoding.stopTokensForAssistantActions());
    const sampler = new Sampler(options);
    const signal = options.signal;
    const seq = this.#seq;
    const capacity = seq.capacity;
    if (prompt.length >= capacity) {
      throw new InvalidArgumentError(`the prompt has ${prompt.length} tokens; this model was loaded with a context of ${capacity}`);
    }

    // Take the model for the whole generation: the shared sequence must not be touched by another call.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const prev = this.#queue;
    this.#queue = prev.then(() => mine);
    await prev.catch(() => undefined);
    try {
      signal?.throwIfAborted();
      // Prefix reuse: keep the cached positions shared with this prompt, prefill at least the last prompt token.
      let common = 0;
      const cached = seq.tokens;
      while (common < cached.length && common < prompt.length - 1 && cached[common] === prompt[common]) common++;
      seq.truncate(common);
      const t0 = performance.now();
      let logits = await this.loaded.prefill(seq, prompt.slice(common), { logits: 'last' });
      const prefillMs = performance.now() - t0;
      const tokens: number[] = [];
      let stopReason: StopReason = 'max-tokens';
      let decodeMs = 0;
      while (tokens.length < maxTokens) {
        signal?.throwIfAborted();
        const s = sampler.sample(logits);
        tokens.push(s.token);
        yield { type: 'token', token: s.token, logprob: s.logprob, ...(s.topLogprobs ? { topLogprobs: s.topLogprobs } : {}) };
        if (parser) for (const ev of parser.push(s.token)) yield ev;
        if (stop.has(s.token)) {
          stopReason = 'stop-token';
          break;
        }
        if (tokens.length >= maxTokens) break;
        if (seq.length + 1 > capacity) {
          stopReason = 'context-full';
          break;
        }
        signal?.throwIfAborted();
        const t1 = performance.now();
        logits = await this.loaded.decode([{ sequence: seq, token: s.token }]);
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

  async close(): Promise<void> {
    await this.#exclusive(async () => {
      this.#seq.dispose();
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
    return await Model.create(checkpoint, loaded, choice);
  } catch (e) {
    await checkpoint.close();
    throw e;
  }
}


