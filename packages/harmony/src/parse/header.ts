// Message header parsing (SPEC §4.10 "Header parsing"), ported rule for rule from openai/harmony's
// `parse_header_from_string`, plus the recovery used by the lenient parser.
import { HarmonyParseError } from '../errors.js';
import { Author, isRole, type Role } from '../model/message.js';

const CHANNEL = '<|channel|>';
const CONSTRAIN = '<|constrain|>';

/** A parsed message header. */
export interface ParsedHeader {
  author: Author;
  recipient: string | undefined;
  channel: string | undefined;
  contentType: string | undefined;
}

const WHITE_SPACE = /\p{White_Space}/u;
const TRIM = /^\p{White_Space}+|\p{White_Space}+$/gu;
// Rust's split_ascii_whitespace: space, \t, \n, \x0C, \r.
const ASCII_WS = /[ \t\n\f\r]+/;

function trim(s: string): string {
  return s.replace(TRIM, '');
}

function splitAsciiWhitespace(s: string): string[] {
  return s.split(ASCII_WS).filter((p) => p.length > 0);
}

/**
 * Parses `header` (the decoded text between `<|start|>` and `<|message|>`).
 *
 * - `presetRole`: the role given to the parser for the first message (the completion starts after `<|start|>assistant`).
 * - `parseRecipientAndType = false`: everything after role and channel is returned as `remaining` (the lenient
 *   path for a header that was ended by a stop token instead of `<|message|>`).
 * - `lenient`: never throws; an empty channel is ignored, an unknown lone role word becomes a tool author, a
 *   header without a role becomes `fallbackRole`'s.
 *
 * @internal
 */
export function parseHeaderString(
  header: string,
  presetRole: Role | undefined,
  parseRecipientAndType: boolean,
  lenient = false,
  fallbackRole: Role = 'assistant',
): { header: ParsedHeader; remaining: string | undefined } {
  let channel: string | undefined;
  const idx = header.indexOf(CHANNEL);
  if (idx >= 0) {
    const after = header.slice(idx + CHANNEL.length);
    let end = 0;
    for (const ch of after) {
      if (ch === '<' || WHITE_SPACE.test(ch)) break;
      end += ch.length;
    }
    const value = after.slice(0, end);
    if (value.length === 0) {
      if (!lenient) {
        throw new HarmonyParseError(
          `channel marker present but no channel value found in header ${JSON.stringify(header)}: expected ` +
            `<|channel|> followed by a channel name such as "final".`,
        );
      }
    } else {
      channel = value;
    }
    header = header.slice(0, idx) + after.slice(end);
  }

  header = trim(header);
  if (header.includes(CONSTRAIN)) header = trim(header.split(CONSTRAIN).join(` ${CONSTRAIN}`));

  const parts = splitAsciiWhitespace(header);

  let role: Role;
  let roleWord: string | undefined;
  if (presetRole !== undefined) {
    role = presetRole;
  } else if (parts.length === 0) {
    if (!lenient) {
      throw new HarmonyParseError(
        'message header did not contain a role: expected <|start|> followed by a role such as "assistant".',
      );
    }
    role = fallbackRole;
  } else {
    roleWord = parts[0];
    if (isRole(roleWord)) {
      role = roleWord;
    } else if (parts.length > 1 || parts[0].startsWith('to=') || lenient) {
      // A word that is not a role, followed by more header: a tool speaking (e.g. `browser.search to=assistant`).
      parts.shift();
      role = 'tool';
    } else {
      throw new HarmonyParseError(
        `Unknown role: ${roleWord}. Expected user, assistant, system, developer or tool, or a tool name ` +
          `followed by "to=<recipient>".`,
      );
    }
  }

  if (parts.length > 0 && parts[0] === role) parts.shift();

  let recipient: string | undefined;
  let contentType: string | undefined;
  if (parseRecipientAndType && parts.length > 0) {
    const n = parts.length;
    const last = parts.pop()!;
    if (last.startsWith('to=')) {
      recipient = last.slice(3);
    } else if (n === 1) {
      recipient = last;
    } else {
      contentType = last;
      const raw = parts.pop();
      if (raw !== undefined) recipient = raw.startsWith('to=') ? raw.slice(3) : raw;
    }
  }
  const remaining = parts.length > 0 ? parts.join(' ') : undefined;
  const author = role === 'tool' ? new Author(role, roleWord) : new Author(role);
  return { header: { author, recipient, channel, contentType }, remaining };
}
