import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Conversation, Message, SystemContent, type HarmonyEvent, type StreamableParser } from '../src/index.js';

export interface HarmonyCase {
  name: string;
  kind: string;
  notes?: string;
  [key: string]: unknown;
}

/** The 125 cases translated from openai/harmony's Rust and Python tests (see test/fixtures/README.md). */
export function loadCases(): HarmonyCase[] {
  const path = fileURLToPath(new URL('./fixtures/harmony-cases.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as HarmonyCase[];
}

type Raw = Record<string, unknown>;

/**
 * Fixture system content carries `browser`/`python` flags for `with_browser_tool()`/`with_python_tool()`; the
 * rest is the Python `to_dict` shape, with `null` meaning "unset".
 */
function systemFromFixture(raw: Raw): SystemContent {
  const { browser, python, ...rest } = raw;
  let sys = SystemContent.fromJSON(rest);
  if (browser === true) sys = sys.withBrowserTool();
  if (python === true) sys = sys.withPythonTool();
  return sys;
}

export function messageFromFixture(raw: Raw): Message {
  const content = (raw.content as Raw[]).map((c) => (c.type === 'system_content' ? systemFromFixture(c) : c));
  return Message.fromJSON({ ...raw, content });
}

export function conversationFromFixture(raw: Raw[]): Conversation {
  return Conversation.fromMessages(raw.map(messageFromFixture));
}

/** Fixture role (`null` → no preset role). */
export function roleOf(c: HarmonyCase): 'assistant' | 'user' | 'system' | 'developer' | 'tool' | undefined {
  return (c.role as never) ?? undefined;
}

/** Checks that a parser's events tell the same story as its messages. */
export function replayEvents(events: HarmonyEvent[]): { messages: Message[]; texts: string[] } {
  const messages: Message[] = [];
  const texts: string[] = [];
  let open = -1;
  for (const e of events) {
    if (e.type === 'message-start') {
      if (open !== -1) throw new Error(`message-start ${e.index} while ${open} is open`);
      open = e.index;
      texts[e.index] = '';
    } else if (e.type === 'content-delta') {
      if (e.index !== open) throw new Error(`content-delta for ${e.index} while ${open} is open`);
      texts[e.index] += e.delta;
    } else {
      if (e.index !== open) throw new Error(`message-end for ${e.index} while ${open} is open`);
      messages[e.index] = e.message;
      open = -1;
    }
  }
  return { messages, texts };
}

export function pushAll(parser: StreamableParser, tokens: readonly number[], eos: boolean): HarmonyEvent[] {
  const events: HarmonyEvent[] = [];
  for (const t of tokens) events.push(...parser.push(t));
  if (eos) events.push(...parser.end());
  return events;
}
