// Token-by-token harmony parser (SPEC §4.10), a port of openai/harmony's StreamableParser state machine with
// typed events for streaming consumers and a lenient mode that never throws.
import { HarmonyError, HarmonyParseError } from '../errors.js';
import type { HarmonyEncoding } from '../encoding.js';
import { isRole, Message, parseRole, type Role } from '../model/message.js';
import { SpecialTokens } from '../tokenizer/index.js';
import { parseHeaderString, type ParsedHeader } from './header.js';
import { Utf8Stream } from './utf8-stream.js';

/** Where the parser is: waiting for `<|start|>`, reading a header, or reading content. */
export type StreamState = 'ExpectStart' | 'Header' | 'Content';

/** Options of {@link StreamableParser} and `parseMessagesFromCompletionTokens`. */
export interface ParseOptions {
  /**
   * `true` (default): exactly openai/harmony's strict parser; malformed input throws `HarmonyParseError`.
   * `false`: lenient. Includes openai/harmony's `strict=False` recovery (a header ended by a stop token becomes a
   * message whose content is the header's words) and goes further so that no token sequence throws: a missing
   * `<|start|>` is assumed, stray stop tokens are skipped, a `<|start|>` inside a header restarts it, a header
   * that still does not parse keeps what it can, undecodable bytes become U+FFFD, and a stream that ends inside a
   * header is closed.
   */
  strict?: boolean;
}

/** A message header was parsed; content follows. */
export interface MessageStartEvent {
  type: 'message-start';
  /** Index the message will have in `parser.messages`. */
  index: number;
  role: Role;
  name?: string;
  channel?: string;
  recipient?: string;
  contentType?: string;
}

/** Newly decoded content text of the current message. */
export interface ContentDeltaEvent {
  type: 'content-delta';
  index: number;
  delta: string;
  channel?: string;
  recipient?: string;
}

/** A message is complete. */
export interface MessageEndEvent {
  type: 'message-end';
  index: number;
  message: Message;
  /** The token that ended it (`<|end|>`, `<|return|>`, `<|call|>`); absent when the stream ended. */
  stopToken?: number;
}

/** Events emitted by {@link StreamableParser.push} and `parseStream`, named noun-start/delta/end. */
export type HarmonyEvent = MessageStartEvent | ContentDeltaEvent | MessageEndEvent;

const { START, MESSAGE, END, RETURN, CALL } = SpecialTokens;

function isStop(t: number): boolean {
  return t === END || t === RETURN || t === CALL;
}

function optional<K extends string>(key: K, v: string | undefined): { [P in K]?: string } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: string };
}

/**
 * Incremental parser: feed completion tokens one at a time, read completed messages and the state of the
 * current one, or take typed events from {@link StreamableParser.push}.
 *
 * @example
 * const parser = new StreamableParser(loadHarmonyEncoding(), 'assistant');
 * for (const token of sampledTokens) {
 *   for (const ev of parser.push(token)) if (ev.type === 'content-delta') process.stdout.write(ev.delta);
 * }
 * parser.end();
 * console.log(parser.messages);
 */
export class StreamableParser {
  readonly encoding: HarmonyEncoding;
  readonly strict: boolean;
  readonly #fallbackRole: Role;
  #nextRole: Role | undefined;
  readonly #tokens: number[] = [];
  readonly #messages: Message[] = [];
  #state: StreamState;
  #headerTokens: number[] = [];
  #header: ParsedHeader | undefined;
  #content = '';
  #decoder: Utf8Stream | undefined;
  #lastDelta: string | undefined;
  #events: HarmonyEvent[] | undefined;

  /**
   * @param role The role of the first message when the completion starts right after `<|start|>{role}` (normally
   *   `'assistant'`); the parser then starts in `Header`. Without it, the parser expects `<|start|>` first.
   */
  constructor(encoding: HarmonyEncoding, role?: Role | null, options: ParseOptions = {}) {
    this.encoding = encoding;
    this.strict = options.strict ?? true;
    if (role !== undefined && role !== null) {
      this.#nextRole = parseRole(role, 'StreamableParser role');
      this.#state = 'Header';
    } else {
      this.#state = 'ExpectStart';
    }
    this.#fallbackRole = this.#nextRole ?? 'assistant';
  }

  /** Feeds one token. Strict mode throws `HarmonyParseError` on malformed input. */
  process(token: number): this {
    this.#tokens.push(token);
    this.#guarded(() => this.#step(token));
    return this;
  }

  /** Signals the end of the stream: a message in progress is completed. */
  processEos(): this {
    this.#guarded(() => this.#step(undefined));
    return this;
  }

  /** Feeds one token and returns the events it caused (often none, or one `content-delta`). */
  push(token: number): HarmonyEvent[] {
    return this.#collect(() => this.process(token));
  }

  /** Ends the stream ({@link processEos}) and returns the events it caused. */
  end(): HarmonyEvent[] {
    return this.#collect(() => this.processEos());
  }

  get state(): StreamState {
    return this.#state;
  }
  /** Completed messages so far. */
  get messages(): Message[] {
    return this.#messages;
  }
  /** Every token fed so far. */
  get tokens(): number[] {
    return this.#tokens;
  }
  /** Role of the message being parsed: from its header in `Content`, else the pending preset role. */
  get currentRole(): Role | undefined {
    return this.#state === 'Content' ? this.#header!.author.role : this.#nextRole;
  }
  get currentName(): string | undefined {
    return this.#state === 'Content' ? this.#header!.author.name : undefined;
  }
  get currentChannel(): string | undefined {
    return this.#state === 'Content' ? this.#header!.channel : undefined;
  }
  get currentRecipient(): string | undefined {
    return this.#state === 'Content' ? this.#header!.recipient : undefined;
  }
  get currentContentType(): string | undefined {
    return this.#state === 'Content' ? this.#header!.contentType : undefined;
  }
  /** Decoded content of the message being parsed (bytes of an unfinished UTF-8 sequence are not included). */
  get currentContent(): string {
    return this.#state === 'Content' ? this.#content : '';
  }
  /** Text decoded by the last token, or `undefined` if it decoded nothing (e.g. half of a multi-byte character). */
  get lastContentDelta(): string | undefined {
    return this.#lastDelta;
  }

  #collect(run: () => void): HarmonyEvent[] {
    const events: HarmonyEvent[] = [];
    this.#events = events;
    try {
      run();
    } finally {
      this.#events = undefined;
    }
    return events;
  }

  #emit(e: HarmonyEvent): void {
    this.#events?.push(e);
  }

  #guarded(run: () => void): void {
    if (this.strict) {
      run();
      return;
    }
    try {
      run();
    } catch {
      // Lenient mode must never throw; every known path recovers on its own, this is the last line of defence.
      this.#reset();
    }
  }

  #reset(): void {
    this.#state = 'ExpectStart';
    this.#headerTokens = [];
    this.#header = undefined;
    this.#content = '';
    this.#decoder = undefined;
    this.#lastDelta = undefined;
    this.#nextRole = undefined;
  }

  #fail(message: string, cause?: unknown): never {
    throw new HarmonyParseError(message, { tokenIndex: this.#tokens.length - 1, cause });
  }

  #step(token: number | undefined): void {
    switch (this.#state) {
      case 'ExpectStart':
        if (token === undefined) return;
        if (token === START) {
          this.#enterHeader(undefined);
          return;
        }
        if (this.strict) {
          this.#fail(`Unexpected token ${token} while expecting start token ${START} (<|start|>)`);
        }
        // Lenient: a stray stop token is skipped; anything else is a message whose `<|start|>` is missing.
        if (isStop(token)) return;
        this.#enterHeader(this.#fallbackRole);
        this.#stepHeader(token);
        return;
      case 'Header':
        this.#stepHeader(token);
        return;
      case 'Content':
        this.#stepContent(token);
        return;
    }
  }

  #enterHeader(role: Role | undefined): void {
    this.#state = 'Header';
    this.#headerTokens = [];
    this.#nextRole = role;
  }

  #stepHeader(token: number | undefined): void {
    if (token === MESSAGE) {
      const tokens = this.#headerTokens;
      const role = this.#nextRole;
      this.#state = 'ExpectStart';
      this.#headerTokens = [];
      const header = this.#parseHeader(tokens, role);
      this.#nextRole = undefined;
      this.#startContent(header);
      return;
    }
    if (token === undefined) {
      if (this.strict) this.#fail('Unexpected EOS while waiting for message header to complete');
      this.#headerWithoutMessageToken(undefined);
      return;
    }
    if (!this.strict && isStop(token)) {
      this.#headerWithoutMessageToken(token);
      return;
    }
    if (!this.strict && token === START) {
      // A new header begins: what came before it is closed like a header ended by a stop token.
      if (this.#headerTokens.length > 0) this.#headerWithoutMessageToken(undefined);
      this.#enterHeader(undefined);
      return;
    }
    this.#headerTokens.push(token);
  }

  /**
   * openai/harmony's `strict=False` path: a header ended without `<|message|>`; its words become the content.
   * openai/harmony does this only when a role is pending (the first message of a parser given a role) and drops
   * the header otherwise; we also recover those, taking the role from the header's first word (else the fallback
   * role), and emit them only if they have content.
   */
  #headerWithoutMessageToken(stopToken: number | undefined): void {
    const pending = this.#nextRole;
    const tokens = this.#headerTokens;
    this.#state = 'ExpectStart';
    this.#headerTokens = [];
    this.#nextRole = undefined;
    if (tokens.length === 0) return;
    const text = this.#decodeLossy(tokens);
    let role = pending;
    if (role === undefined) {
      const first = /^\s*([^\s<]+)/.exec(text.replace(/<\|channel\|>[^\s<]*/, ' '))?.[1];
      role = isRole(first) ? first : this.#fallbackRole;
    }
    const { header, remaining } = parseHeaderString(text, role, false, true, this.#fallbackRole);
    if (pending === undefined && remaining === undefined) return;
    this.#startContent(header);
    this.#content = remaining ?? '';
    if (this.#content.length > 0) this.#emitDelta(this.#content);
    this.#finishMessage(stopToken);
  }

  #parseHeader(tokens: number[], role: Role | undefined): ParsedHeader {
    if (!this.strict) {
      return parseHeaderString(this.#decodeLossy(tokens), role, true, true, this.#fallbackRole).header;
    }
    let text: string;
    try {
      text = this.encoding.tokenizer.decodeUtf8(tokens);
    } catch (cause) {
      this.#fail(`could not decode header: ${(cause as Error).message}`, cause);
    }
    let parsed: ReturnType<typeof parseHeaderString>;
    try {
      parsed = parseHeaderString(text, role, true);
    } catch (cause) {
      if (cause instanceof HarmonyError) this.#fail(cause.message, cause.cause);
      throw cause;
    }
    if (parsed.remaining !== undefined) {
      this.#fail(
        `unexpected tokens remaining in message header: Some(${JSON.stringify(parsed.remaining)}). The header ` +
          `${JSON.stringify(text)} has more words than role, recipient and content type; the model probably ` +
          `emitted text without <|message|>. Parse with { strict: false } to recover.`,
      );
    }
    return parsed.header;
  }

  #startContent(header: ParsedHeader): void {
    this.#header = header;
    this.#state = 'Content';
    this.#content = '';
    this.#decoder = new Utf8Stream(this.encoding.tokenizer);
    this.#lastDelta = undefined;
    if (this.#events === undefined) return;
    const a = header.author;
    this.#emit({
      type: 'message-start',
      index: this.#messages.length,
      role: a.role,
      ...optional('name', a.name),
      ...optional('channel', header.channel),
      ...optional('recipient', header.recipient),
      ...optional('contentType', header.contentType),
    });
  }

  #emitDelta(delta: string): void {
    if (this.#events === undefined) return;
    const h = this.#header!;
    this.#emit({
      type: 'content-delta',
      index: this.#messages.length,
      delta,
      ...optional('channel', h.channel),
      ...optional('recipient', h.recipient),
    });
  }

  #stepContent(token: number | undefined): void {
    if (token !== undefined && !isStop(token)) {
      // An id outside the vocabulary becomes U+FFFD, after any pending bytes (also U+FFFD).
      const delta = this.#decoder!.pushToken(token);
      if (delta.length > 0) {
        this.#content += delta;
        this.#lastDelta = delta;
        this.#emitDelta(delta);
      } else {
        this.#lastDelta = undefined;
      }
      return;
    }
    const tail = this.#decoder!.flush();
    if (tail.length > 0) {
      this.#content += tail;
      this.#emitDelta(tail);
    }
    this.#finishMessage(token);
  }

  #finishMessage(stopToken: number | undefined): void {
    const h = this.#header!;
    const message = new Message({
      author: h.author,
      content: [{ type: 'text', text: this.#content }],
      channel: h.channel,
      recipient: h.recipient,
      contentType: h.contentType,
    });
    const index = this.#messages.length;
    this.#messages.push(message);
    this.#state = 'ExpectStart';
    this.#header = undefined;
    this.#content = '';
    this.#decoder = undefined;
    this.#lastDelta = undefined;
    this.#emit(stopToken === undefined ? { type: 'message-end', index, message } : { type: 'message-end', index, message, stopToken });
  }

  #decodeLossy(tokens: number[]): string {
    const stream = new Utf8Stream(this.encoding.tokenizer);
    let s = '';
    for (const t of tokens) s += stream.pushToken(t);
    return s + stream.flush();
  }
}

/**
 * Parses an async (or sync) stream of tokens into events; the stream's end completes the last message.
 *
 * @example
 * for await (const ev of parseStream(encoding, tokenStream, { role: 'assistant' })) {
 *   if (ev.type === 'content-delta' && ev.channel === 'final') process.stdout.write(ev.delta);
 * }
 */
export async function* parseStream(
  encoding: HarmonyEncoding,
  tokens: AsyncIterable<number> | Iterable<number>,
  options: ParseOptions & { role?: Role | null } = {},
): AsyncGenerator<HarmonyEvent, Message[], undefined> {
  const parser = new StreamableParser(encoding, options.role, options);
  for await (const token of tokens) yield* parser.push(token);
  yield* parser.end();
  return parser.messages;
}
