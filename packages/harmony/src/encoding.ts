import { HarmonyRenderError, HarmonyValidationError } from './errors.js';
import { DeveloperContent } from './model/developer-content.js';
import { checkMessages, Conversation, parseRole, type Message, type Role } from './model/message.js';
import { SystemContent } from './model/system-content.js';
import { parseStream, StreamableParser, type HarmonyEvent, type ParseOptions } from './parse/streamable-parser.js';
import { developerContentText, systemContentText } from './render/content-text.js';
import { getTokenizer, SpecialTokens, type EncodeOptions, type Tokenizer } from './tokenizer/index.js';

/** Options of the conversation renderers. */
export interface RenderConversationConfig {
  /**
   * Drop `analysis` messages that come before the first `final` message, when the conversation's last assistant
   * message is on the `final` channel (openai/harmony's actual rule, SPEC §4.8). Default `true`, as in
   * openai_harmony's Python API.
   */
  autoDropAnalysis?: boolean;
}

/** Options of {@link HarmonyEncoding.render} for a single message. */
export interface RenderOptions {
  /** Adds the `Calls to these tools must go to the commentary channel: 'functions'.` line to system content. */
  conversationHasFunctionTools?: boolean;
}

/** Encoding names accepted by {@link loadHarmonyEncoding}. */
export type HarmonyEncodingName = 'HarmonyGptOss';
/** Named values of {@link HarmonyEncodingName}, like Python's `HarmonyEncodingName.HARMONY_GPT_OSS`. */
export const HarmonyEncodingName = { HARMONY_GPT_OSS: 'HarmonyGptOss' } as const;

const { START, MESSAGE, END, RETURN, CALL, CHANNEL, CONSTRAIN } = SpecialTokens;
const CONSTRAIN_TEXT = '<|constrain|>';

type ConversationLike = Conversation | readonly Message[];

function messagesOf(c: ConversationLike, what: string): Message[] {
  if (c instanceof Conversation) return c.messages;
  if (!Array.isArray(c)) {
    throw new HarmonyValidationError(`${what}: expected a Conversation or an array of Messages.`);
  }
  return checkMessages(c, `${what} messages`);
}

function hasFunctionTools(messages: readonly Message[]): boolean {
  for (const m of messages) {
    for (const c of m.content) {
      if (c.type === 'developer_content' && c.tools !== undefined) {
        const ns = c.tools.functions;
        if (ns !== undefined && ns.tools.length > 0) return true;
      }
    }
  }
  return false;
}

/**
 * The harmony encoding for gpt-oss: renders conversations to tokens and parses completions back into messages.
 * Get it with {@link loadHarmonyEncoding}.
 *
 * @example
 * const enc = loadHarmonyEncoding();
 * const prompt = enc.renderConversationForCompletion(
 *   Conversation.fromMessages([Message.fromRoleAndContent('user', 'Hi!')]), 'assistant');
 */
export class HarmonyEncoding {
  readonly name: HarmonyEncodingName = 'HarmonyGptOss';
  readonly tokenizer: Tokenizer;

  constructor(tokenizer: Tokenizer = getTokenizer()) {
    this.tokenizer = tokenizer;
  }

  /** Renders the messages back to back (after analysis dropping). */
  renderConversation(conversation: ConversationLike, config?: RenderConversationConfig): number[] {
    const out: number[] = [];
    this.#renderConversationInto(messagesOf(conversation, 'renderConversation'), out, config);
    return out;
  }

  /** Renders the conversation, then `<|start|>{nextRole}`: the prompt the model completes. */
  renderConversationForCompletion(
    conversation: ConversationLike,
    nextRole: Role = 'assistant',
    config?: RenderConversationConfig,
  ): number[] {
    const role = parseRole(nextRole, 'renderConversationForCompletion nextRole');
    const out: number[] = [];
    this.#renderConversationInto(messagesOf(conversation, 'renderConversationForCompletion'), out, config);
    out.push(START);
    this.#text(role, out);
    return out;
  }

  /** Renders for training: a last assistant message on `final` ends with `<|return|>` instead of `<|end|>`. */
  renderConversationForTraining(conversation: ConversationLike, config?: RenderConversationConfig): number[] {
    const messages = messagesOf(conversation, 'renderConversationForTraining');
    const out: number[] = [];
    this.#renderConversationInto(messages, out, config);
    const last = messages[messages.length - 1];
    if (last !== undefined && last.author.role === 'assistant' && last.channel === 'final' && out.length > 0) {
      out[out.length - 1] = RETURN;
    }
    return out;
  }

  /** Renders one message (`<|start|>…<|end|>` or `…<|call|>`). */
  render(message: Message, options?: RenderOptions): number[] {
    const out: number[] = [];
    this.#renderMessageInto(checkMessages([message], 'render')[0], out, options?.conversationHasFunctionTools ?? false);
    return out;
  }

  /** Alias of {@link render}. */
  renderMessage(message: Message, options?: RenderOptions): number[] {
    return this.render(message, options);
  }

  /**
   * Parses completion tokens into messages. `role` is the role of the first message when the tokens start right
   * after the prompt's `<|start|>{role}`. Strict by default; `{ strict: false }` never throws.
   */
  parseMessagesFromCompletionTokens(tokens: Iterable<number> | ArrayLike<number>, role?: Role | null, options?: ParseOptions): Message[] {
    const parser = new StreamableParser(this, role, options);
    const list = Symbol.iterator in Object(tokens) ? (tokens as Iterable<number>) : Array.from(tokens as ArrayLike<number>);
    for (const t of list) parser.process(t);
    parser.processEos();
    return parser.messages;
  }

  /** Events from an (async) token stream; see {@link parseStream}. The generator returns the messages. */
  parseStream(
    tokens: AsyncIterable<number> | Iterable<number>,
    options?: ParseOptions & { role?: Role | null },
  ): AsyncGenerator<HarmonyEvent, Message[], undefined> {
    return parseStream(this, tokens, options);
  }

  /** A new {@link StreamableParser} on this encoding. */
  createParser(role?: Role | null, options?: ParseOptions): StreamableParser {
    return new StreamableParser(this, role, options);
  }

  /** Tokens that end a message: `[200002 <|return|>, 200012 <|call|>, 200007 <|end|>]`. */
  stopTokens(): number[] {
    return [RETURN, CALL, END];
  }

  /** Tokens at which sampling stops: `<|return|>` (answer done) and `<|call|>` (a tool must run). */
  stopTokensForAssistantActions(): number[] {
    return [RETURN, CALL];
  }

  /** Texts of every special token (`<|start|>`, `<|reserved_200014|>`, …). */
  specialTokens(): string[] {
    const out: string[] = [];
    for (let id = 199998; id <= 201088; id++) out.push(this.tokenizer.decode([id]));
    return out;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return this.tokenizer.encode(text, options);
  }
  encodeOrdinary(text: string): number[] {
    return this.tokenizer.encodeOrdinary(text);
  }
  decode(tokens: ArrayLike<number>): string {
    return this.tokenizer.decode(tokens);
  }
  decodeUtf8(tokens: ArrayLike<number>): string {
    return this.tokenizer.decodeUtf8(tokens);
  }
  decodeBytes(tokens: ArrayLike<number>): Uint8Array {
    return this.tokenizer.decodeBytes(tokens);
  }
  isSpecialToken(id: number): boolean {
    return this.tokenizer.isSpecial(id);
  }

  #text(text: string, out: number[]): void {
    if (text.length === 0) return;
    const ids = this.tokenizer.encodeOrdinary(text);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  #renderConversationInto(messages: readonly Message[], out: number[], config: RenderConversationConfig | undefined): void {
    const fnTools = hasFunctionTools(messages);
    let lastAssistantIsFinal = false;
    for (let i = messages.length - 1; i >= 0; i--) {
      if (messages[i].author.role === 'assistant') {
        lastAssistantIsFinal = messages[i].channel === 'final';
        break;
      }
    }
    const shouldDrop = (config?.autoDropAnalysis ?? true) && lastAssistantIsFinal;
    const firstFinal = messages.findIndex((m) => m.channel === 'final');
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i];
      if (shouldDrop && firstFinal >= 0 && i < firstFinal && m.channel === 'analysis') continue;
      this.#renderMessageInto(m, out, fnTools);
    }
  }

  #renderMessageInto(message: Message, out: number[], conversationHasFunctionTools: boolean): void {
    const { author } = message;
    out.push(START);
    if (author.role === 'tool') {
      if (author.name === undefined) {
        throw new HarmonyRenderError(
          'Tools should have a name! A tool message is rendered with its author name (e.g. ' +
            '"functions.get_weather"); create it with new Author("tool", "functions.get_weather").',
        );
      }
      this.#text(author.name, out);
    } else {
      this.#text(author.role, out);
      if (author.name !== undefined) this.#text(`:${author.name}`, out);
    }
    if (message.recipient !== undefined && message.recipient !== 'all') this.#text(` to=${message.recipient}`, out);
    if (message.channel !== undefined) {
      out.push(CHANNEL);
      this.#text(message.channel, out);
    }
    const ct = message.contentType;
    if (ct !== undefined) {
      if (ct.startsWith(CONSTRAIN_TEXT)) {
        this.#text(' ', out);
        out.push(CONSTRAIN);
        this.#text(ct.slice(CONSTRAIN_TEXT.length), out);
      } else {
        this.#text(` ${ct}`, out);
      }
    }
    out.push(MESSAGE);
    for (const c of message.content) {
      if (c.type === 'text') {
        this.#text(c.text, out);
      } else if (c instanceof SystemContent) {
        if (author.role !== 'system') {
          throw new HarmonyRenderError(
            `SystemContent may only appear in system messages, found in a ${author.role} message. Put it in ` +
              `Message.fromRoleAndContent('system', …).`,
          );
        }
        this.#text(systemContentText(c, conversationHasFunctionTools), out);
      } else if (c instanceof DeveloperContent) {
        if (author.role !== 'developer') {
          throw new HarmonyRenderError(
            `DeveloperContent may only appear in developer messages, found in a ${author.role} message. Put it ` +
              `in Message.fromRoleAndContent('developer', …).`,
          );
        }
        this.#text(developerContentText(c), out);
      } else {
        throw new HarmonyRenderError(`unknown content item ${JSON.stringify(c)}: expected text, SystemContent or DeveloperContent.`);
      }
    }
    out.push(author.role === 'assistant' && message.recipient !== undefined ? CALL : END);
  }
}

let shared: HarmonyEncoding | undefined;

/**
 * The gpt-oss harmony encoding (`'HarmonyGptOss'`), shared. The first call builds the tokenizer (~ a few hundred ms).
 */
export function loadHarmonyEncoding(name: HarmonyEncodingName = 'HarmonyGptOss'): HarmonyEncoding {
  if (name !== 'HarmonyGptOss') {
    throw new HarmonyValidationError(`unknown harmony encoding ${JSON.stringify(name)}: the only one is "HarmonyGptOss".`);
  }
  shared ??= new HarmonyEncoding();
  return shared;
}
