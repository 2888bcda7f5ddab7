import { HarmonyValidationError } from '../errors.js';
import { DeveloperContent } from './developer-content.js';
import { describe, expectObject, optString } from './json-util.js';
import { SystemContent } from './system-content.js';

/** Who wrote a message. Lower-case on the wire. */
export type Role = 'user' | 'assistant' | 'system' | 'developer' | 'tool';
/** Named values of {@link Role}, like Python's `Role.ASSISTANT`. */
export const Role = {
  USER: 'user',
  ASSISTANT: 'assistant',
  SYSTEM: 'system',
  DEVELOPER: 'developer',
  TOOL: 'tool',
} as const;

const ROLES: ReadonlySet<string> = new Set(Object.values(Role));

/** True if `s` is one of the five roles (exact, lower-case). */
export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && ROLES.has(s);
}

/** @internal */
export function parseRole(v: unknown, what: string): Role {
  if (isRole(v)) return v;
  throw new HarmonyValidationError(
    `${what}: expected a role ("user", "assistant", "system", "developer" or "tool"), found ${describe(v)}.`,
  );
}

/** The author of a message. For `tool` messages the name (e.g. `functions.get_weather`) is what gets rendered. */
export class Author {
  readonly role: Role;
  readonly name: string | undefined;

  constructor(role: Role, name?: string | null) {
    this.role = role;
    this.name = name ?? undefined;
  }

  static new(role: Role, name?: string | null): Author {
    return new Author(role, name);
  }

  toJSON(): { role: Role; name?: string } {
    return this.name === undefined ? { role: this.role } : { role: this.role, name: this.name };
  }
}

/** Plain text content. */
export interface TextContent {
  type: 'text';
  text: string;
}

/** Builder for {@link TextContent}. */
export const TextContent = {
  new(text: string): TextContent {
    return { type: 'text', text };
  },
};

/** One item of a message's content. */
export type Content = TextContent | SystemContent | DeveloperContent;

/** @internal */
export function contentFromJSON(raw: unknown, what: string): Content {
  if (raw instanceof SystemContent || raw instanceof DeveloperContent) return raw;
  const o = expectObject(raw, what);
  switch (o.type) {
    case 'text': {
      if (typeof o.text !== 'string') {
        throw new HarmonyValidationError(`${what}.text: expected a string, found ${describe(o.text)}.`);
      }
      return { type: 'text', text: o.text };
    }
    case 'system_content':
      return SystemContent.fromJSON(o);
    case 'developer_content':
      return DeveloperContent.fromJSON(o);
    default:
      throw new HarmonyValidationError(
        `${what}.type: expected "text", "system_content" or "developer_content", found ${describe(o.type)}.`,
      );
  }
}

function contentToJSON(c: Content): Record<string, unknown> {
  return c.type === 'text' ? { type: 'text', text: c.text } : c.toJSON();
}

function normaliseContent(content: string | Content | readonly Content[], what: string): Content[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  const list: readonly unknown[] = Array.isArray(content) ? content : [content];
  return list.map((c, i) => (typeof c === 'string' ? TextContent.new(c) : contentFromJSON(c, `${what}[${i}]`)));
}

/** Fields of a {@link Message}. */
export interface MessageFields {
  author: Author;
  content?: string | Content | readonly Content[];
  channel?: string | undefined;
  recipient?: string | undefined;
  contentType?: string | undefined;
}

/**
 * One harmony message: author, optional recipient/channel/content type, and content. Immutable: every
 * `with*`/`adding*` returns a copy.
 *
 * @example
 * const call = Message.fromRoleAndContent('assistant', '{"city":"Paris"}')
 *   .withChannel('commentary').withRecipient('functions.get_weather').withContentType('<|constrain|>json');
 */
export class Message {
  readonly author: Author;
  readonly content: Content[];
  readonly channel: string | undefined;
  readonly recipient: string | undefined;
  readonly contentType: string | undefined;

  constructor(fields: MessageFields) {
    this.author = toAuthor(fields.author);
    this.content = normaliseContent(fields.content ?? [], 'Message.content');
    this.channel = fields.channel ?? undefined;
    this.recipient = fields.recipient ?? undefined;
    this.contentType = fields.contentType ?? undefined;
  }

  static fromRoleAndContent(role: Role, content: string | Content | readonly Content[]): Message {
    return new Message({ author: new Author(parseRole(role, 'Message role')), content });
  }

  static fromRoleAndContents(role: Role, contents: readonly Content[]): Message {
    return Message.fromRoleAndContent(role, contents);
  }

  static fromAuthorAndContent(author: Author, content: string | Content | readonly Content[]): Message {
    return new Message({ author, content });
  }

  #with(patch: Partial<MessageFields>): Message {
    return new Message({
      author: this.author,
      content: this.content,
      channel: this.channel,
      recipient: this.recipient,
      contentType: this.contentType,
      ...patch,
    });
  }

  withChannel(channel: string | undefined): Message {
    return this.#with({ channel });
  }
  withRecipient(recipient: string | undefined): Message {
    return this.#with({ recipient });
  }
  withContentType(contentType: string | undefined): Message {
    return this.#with({ contentType });
  }
  withAuthor(author: Author): Message {
    return this.#with({ author });
  }
  addingContent(content: string | Content): Message {
    return this.#with({ content: [...this.content, ...normaliseContent(content, 'Message.addingContent')] });
  }

  /** The concatenated text of the text content items. */
  get text(): string {
    let s = '';
    for (const c of this.content) if (c.type === 'text') s += c.text;
    return s;
  }

  /**
   * Python `to_dict` shape: `{role, name?, content: [...], channel?, recipient?, content_type?}`.
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { role: this.author.role };
    if (this.author.name !== undefined) out.name = this.author.name;
    out.content = this.content.map(contentToJSON);
    if (this.channel !== undefined) out.channel = this.channel;
    if (this.recipient !== undefined) out.recipient = this.recipient;
    if (this.contentType !== undefined) out.content_type = this.contentType;
    return out;
  }

  /** Reads the Python `to_dict` / Rust serde shape; `content` may also be a plain string (Rust's shortcut). */
  static fromJSON(raw: unknown): Message {
    if (raw instanceof Message) return raw;
    const o = expectObject(raw, 'Message');
    const role = parseRole(o.role, 'Message.role');
    const name = optString(o, 'name', 'Message');
    const rc = o.content;
    let content: Content[];
    if (typeof rc === 'string') content = [TextContent.new(rc)];
    else if (Array.isArray(rc)) content = rc.map((c, i) => contentFromJSON(c, `Message.content[${i}]`));
    else throw new HarmonyValidationError(`Message.content: expected a string or an array, found ${describe(rc)}.`);
    return new Message({
      author: new Author(role, name),
      content,
      channel: optString(o, 'channel', 'Message'),
      recipient: optString(o, 'recipient', 'Message'),
      contentType: optString(o, 'content_type', 'Message'),
    });
  }
}

function toAuthor(a: unknown): Author {
  if (a instanceof Author) return a;
  // An Author from another copy of this package.
  if (typeof a === 'object' && a !== null && isRole((a as Author).role)) {
    const name = (a as Author).name;
    if (name === undefined || name === null || typeof name === 'string') return new Author((a as Author).role, name);
  }
  throw new HarmonyValidationError(`Message.author: expected an Author, found ${describe(a)}.`);
}

function isForeignMessage(m: unknown): m is Message {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as Message).author === 'object' &&
    (m as Message).author !== null &&
    isRole((m as Message).author.role) &&
    Array.isArray((m as Message).content)
  );
}

/**
 * @internal Throws unless every item is a Message (Python's pydantic check, done at run time here). Messages made
 * by another copy of this package are copied into this one's classes.
 */
export function checkMessages(messages: readonly unknown[], what: string): Message[] {
  return messages.map((m, i) => {
    if (m instanceof Message) return m;
    if (isForeignMessage(m)) {
      return new Message({ author: m.author, content: m.content, channel: m.channel, recipient: m.recipient, contentType: m.contentType });
    }
    throw new HarmonyValidationError(
      `${what}[${i}]: expected a Message, found ${describe(m)}. Wrap content in a message, e.g. ` +
        `Message.fromRoleAndContent('system', SystemContent.new()), or use Message.fromJSON for plain objects.`,
    );
  });
}

/** An ordered list of messages. */
export class Conversation implements Iterable<Message> {
  readonly messages: Message[];

  constructor(messages: readonly Message[] = []) {
    this.messages = checkMessages(messages, 'Conversation.messages');
  }

  static fromMessages(messages: readonly Message[]): Conversation {
    return new Conversation(messages);
  }

  [Symbol.iterator](): Iterator<Message> {
    return this.messages[Symbol.iterator]();
  }

  /** Python `to_dict` shape: `{messages: [...]}`. */
  toJSON(): { messages: Record<string, unknown>[] } {
    return { messages: this.messages.map((m) => m.toJSON()) };
  }

  /** Reads `{messages: [...]}` (an object, or its JSON text as Python's `from_json` takes). */
  static fromJSON(raw: unknown): Conversation {
    if (raw instanceof Conversation) return raw;
    const value = typeof raw === 'string' ? parseJsonText(raw) : raw;
    const o = expectObject(value, 'Conversation');
    if (!Array.isArray(o.messages)) {
      throw new HarmonyValidationError(`Conversation.messages: expected an array, found ${describe(o.messages)}.`);
    }
    return new Conversation(o.messages.map((m) => Message.fromJSON(m)));
  }
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new HarmonyValidationError('Conversation.fromJSON: the string is not valid JSON.', { cause });
  }
}

