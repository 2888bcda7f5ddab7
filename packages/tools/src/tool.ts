import { Author, Message } from '@gptoss/harmony';
import type { ToolNamespaceConfig } from '@gptoss/harmony';
import { GptossError, ToolChannelMismatchError } from './errors.js';

/** Options for one tool call. */
export interface ToolProcessOptions {
  /** Aborts the call; a tool then ends its work and reports the abort to the model (or throws `AbortError`). */
  signal?: AbortSignal;
}

/**
 * Something the model can call (SPEC §5.1). A message is routed to the tool whose `name` matches its recipient
 * (`python`, `browser.*`, `functions.apply_patch`).
 *
 * @example
 * ```ts
 * for await (const reply of tool.process(call)) conversation.messages.push(reply);
 * ```
 */
export interface Tool {
  /** Routing name: `python`, `browser`, `apply_patch`. */
  readonly name: string;
  /** The namespace the model is shown (system message for built-ins, developer `functions` for apply_patch). */
  toolConfig(): ToolNamespaceConfig;
  /**
   * Replies to one call. Every reply is a `tool` message from the tool, addressed to `assistant`, with one text
   * item, on the caller's channel. Failures come back as reply text, never as a rejected iterator.
   */
  process(message: Message, opts?: ToolProcessOptions): AsyncIterable<Message>;
}

/** The text of the first content item of a call (the code for python, the patch for apply_patch). */
export function messageText(message: Message): string {
  const first = message.content[0];
  if (first === undefined) return '';
  if (typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string') {
    return first.text;
  }
  return '';
}

/**
 * Builds a reply in the shape of SPEC §5.1: author `tool` named `authorName` (e.g. `python`, `browser.search`,
 * `functions.apply_patch`), recipient `assistant`, one text item, and `channel` when given.
 */
export function toolMessage(authorName: string, text: string, opts?: { channel?: string }): Message {
  let m = Message.fromAuthorAndContent(new Author('tool', authorName), { type: 'text', text }).withRecipient(
    'assistant',
  );
  if (opts?.channel !== undefined) m = m.withChannel(opts.channel);
  return m;
}

/**
 * Applies the channel rule of SPEC §5.1: a reply without a channel inherits the caller's; a reply on a different
 * channel is an error.
 */
export function withCallerChannel(reply: Message, caller: Message): Message {
  if (reply.channel === caller.channel) return reply;
  if (reply.channel === undefined || reply.channel === null) {
    return caller.channel === undefined ? reply : reply.withChannel(caller.channel);
  }
  throw new ToolChannelMismatchError(reply.channel, caller.channel);
}

/** Text shown to the model when a tool fails unexpectedly. */
export function errorText(e: unknown): string {
  if (GptossError.isInstance(e)) return `[ERROR] ${e.message}`;
  if (e instanceof Error) return `[ERROR] ${e.name}: ${e.message}`;
  return `[ERROR] ${String(e)}`;
}

/**
 * Convenience base class: implement `run` and get SPEC §5.1's channel propagation and "errors become tool messages"
 * for free. `process` is the only entry point callers use.
 */
export abstract class BaseTool implements Tool {
  abstract readonly name: string;
  abstract toolConfig(): ToolNamespaceConfig;

  /** Author name for replies; the browser overrides it per call (`browser.search`). */
  protected replyAuthor(_message: Message): string {
    return this.name;
  }

  /** The tool's work. May throw: the error is shown to the model as a reply. */
  protected abstract run(message: Message, opts: ToolProcessOptions): AsyncIterable<Message>;

  async *process(message: Message, opts: ToolProcessOptions = {}): AsyncIterable<Message> {
    try {
      for await (const reply of this.run(message, opts)) yield withCallerChannel(reply, message);
    } catch (e) {
      if (e instanceof ToolChannelMismatchError) throw e;
      yield toolMessage(this.replyAuthor(message), errorText(e), { channel: message.channel });
    }
  }
}
