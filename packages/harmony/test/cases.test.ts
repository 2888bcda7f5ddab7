// Table tests driven by test/fixtures/harmony-cases.json: every case of openai/harmony's src/tests.rs and
// tests/test_harmony.py, translated to data and checked against the real library. Every case must run.
import { describe, expect, it } from 'vitest';
import {
  Conversation,
  HarmonyDecodeError,
  HarmonyEncodeError,
  HarmonyError,
  HarmonyParseError,
  HarmonyValidationError,
  loadHarmonyEncoding,
  SystemContent,
  StreamableParser,
  type RenderConversationConfig,
} from '../src/index.js';
import {
  conversationFromFixture,
  loadCases,
  messageFromFixture,
  pushAll,
  replayEvents,
  roleOf,
  type HarmonyCase,
} from './helpers.js';

const enc = loadHarmonyEncoding();
const cases = loadCases();

function config(c: HarmonyCase): RenderConversationConfig | undefined {
  const cfg = c.config as { auto_drop_analysis: boolean } | undefined;
  return cfg === undefined ? undefined : { autoDropAnalysis: cfg.auto_drop_analysis };
}

function expectRendered(c: HarmonyCase, tokens: number[]): void {
  expect(enc.decodeUtf8(tokens)).toBe(c.expected_text);
  // expected_tokens is what the test asserts; reference_tokens is what the reference renderer produced.
  expect(tokens).toEqual(c.expected_tokens ?? c.reference_tokens);
}

function runRender(c: HarmonyCase): void {
  switch (c.kind) {
    case 'render_completion': {
      const tokens = enc.renderConversationForCompletion(
        conversationFromFixture(c.conversation as never),
        c.next_role as 'assistant',
        config(c),
      );
      expectRendered(c, tokens);
      if (c.expected_prefix_tokens !== undefined) {
        expect(tokens.slice(0, (c.expected_prefix_tokens as number[]).length)).toEqual(c.expected_prefix_tokens);
      }
      return;
    }
    case 'render_conversation':
      expectRendered(c, enc.renderConversation(conversationFromFixture(c.conversation as never), config(c)));
      return;
    case 'render_training':
      expectRendered(c, enc.renderConversationForTraining(conversationFromFixture(c.conversation as never), config(c)));
      return;
    case 'render_message': {
      const opts = c.render_options as { conversation_has_function_tools: boolean };
      const msg = messageFromFixture(c.message as never);
      const tokens = enc.render(msg, { conversationHasFunctionTools: opts.conversation_has_function_tools });
      expectRendered(c, tokens);
      // The Rust/Python round-trip test: render(msg) == renderConversation([msg]) (no function tools involved).
      if (!opts.conversation_has_function_tools) {
        expect(enc.renderConversation(Conversation.fromMessages([msg]))).toEqual(tokens);
      }
      return;
    }
  }
  throw new Error(`not a render case: ${c.kind}`);
}

function runParse(c: HarmonyCase): void {
  const tokens = c.tokens as number[];
  const strict = c.strict as boolean;
  const messages = enc.parseMessagesFromCompletionTokens(tokens, roleOf(c), { strict });
  expect(messages.map((m) => m.toJSON())).toEqual(c.expected_messages);
  // The streaming parser fed token by token, with events, tells the same story.
  const parser = new StreamableParser(enc, roleOf(c), { strict });
  const replay = replayEvents(pushAll(parser, tokens, true));
  expect(replay.messages.map((m) => m.toJSON())).toEqual(c.expected_messages);
  expect(replay.texts).toEqual(messages.map((m) => m.text));
  if (c.input_text !== undefined) expect(enc.encode(c.input_text as string, { allowedSpecial: 'all' })).toEqual(tokens);
}

interface Checkpoint {
  after_index: number;
  last_content_delta?: string | null;
  current_content?: string;
  joined_content_deltas?: string;
}

function runStreamParse(c: HarmonyCase): void {
  const tokens = c.tokens as number[];
  const parser = new StreamableParser(enc, roleOf(c), { strict: c.strict as boolean });
  const checkpoints = new Map<number, Checkpoint>();
  for (const cp of (c.checkpoints as Checkpoint[] | undefined) ?? []) checkpoints.set(cp.after_index, cp);
  let joined = '';
  const events = [];
  for (let i = 0; i < tokens.length; i++) {
    events.push(...parser.push(tokens[i]));
    expect(parser.tokens).toHaveLength(i + 1);
    if (parser.lastContentDelta !== undefined) joined += parser.lastContentDelta;
    const cp = checkpoints.get(i);
    if (cp === undefined) continue;
    if ('last_content_delta' in cp) expect(parser.lastContentDelta ?? null).toBe(cp.last_content_delta);
    if ('current_content' in cp) expect(parser.currentContent).toBe(cp.current_content);
    if ('joined_content_deltas' in cp) expect(joined).toBe(cp.joined_content_deltas);
  }
  if (c.eos === true) events.push(...parser.end());
  expect(parser.messages.map((m) => m.toJSON())).toEqual(c.expected_messages);
  if (c.expected_message_count !== undefined) expect(parser.messages).toHaveLength(c.expected_message_count as number);
  const after = c.expected_after_eos as { last_content_delta: string | null; current_content: string } | undefined;
  if (after !== undefined) {
    expect(parser.lastContentDelta ?? null).toBe(after.last_content_delta);
    expect(parser.currentContent).toBe(after.current_content);
  }
  const replay = replayEvents(events);
  expect(replay.messages.map((m) => m.toJSON())).toEqual(c.expected_messages);
  if (c.input_text !== undefined) expect(enc.encode(c.input_text as string, { allowedSpecial: 'all' })).toEqual(tokens);
}

function runError(c: HarmonyCase): void {
  switch (c.operation) {
    case 'decode_utf8': {
      const tokens = c.tokens as number[];
      const err = catchError(() => enc.decodeUtf8(tokens));
      expect(err).toBeInstanceOf(HarmonyDecodeError);
      expect(HarmonyError.isInstance(err)).toBe(true);
      const expected = c.expected_error as string;
      if (expected.startsWith('Invalid token for decoding')) expect((err as Error).message).toContain(String(tokens[0]));
      else expect((err as Error).message).toMatch(/utf-8/i);
      return;
    }
    case 'encode': {
      const err = catchError(() => enc.encode(c.text as string));
      expect(err).toBeInstanceOf(HarmonyEncodeError);
      expect((err as Error).message).toContain(c.text as string);
      return;
    }
    case 'render_completion': {
      // Python's pydantic rejects a bare SystemContent as a conversation item; we check the same at run time.
      const items = (c.conversation as Record<string, unknown>[]).map((x) => SystemContent.fromJSON(x));
      const err = catchError(() => enc.renderConversationForCompletion(Conversation.fromMessages(items as never), 'assistant'));
      expect(err).toBeInstanceOf(HarmonyValidationError);
      const err2 = catchError(() => enc.renderConversationForCompletion(items as never, 'assistant'));
      expect(err2).toBeInstanceOf(HarmonyValidationError);
      return;
    }
    case 'parse':
    case 'stream_parse': {
      const tokens = c.tokens as number[];
      const parser = new StreamableParser(enc, roleOf(c), { strict: c.strict as boolean });
      let failedAt: number | 'eos' | undefined;
      let error: unknown;
      for (let i = 0; i < tokens.length && failedAt === undefined; i++) {
        try {
          parser.process(tokens[i]);
        } catch (e) {
          failedAt = i;
          error = e;
        }
      }
      if (failedAt === undefined && (c.operation === 'parse' || c.eos === true)) {
        try {
          parser.processEos();
        } catch (e) {
          failedAt = 'eos';
          error = e;
        }
      }
      expect(error).toBeInstanceOf(HarmonyParseError);
      if (c.error_phase === 'eos') expect(failedAt).toBe('eos');
      if (c.error_at_index !== undefined) {
        expect(failedAt).toBe(c.error_at_index);
        expect((error as HarmonyParseError).tokenIndex).toBe(c.error_at_index);
      }
      const expected = c.expected_error as string;
      if (!expected.startsWith('any error')) expect((error as Error).message).toContain(expected);
      // The same tokens never make the lenient parser throw.
      expect(() => enc.parseMessagesFromCompletionTokens(tokens, roleOf(c), { strict: false })).not.toThrow();
      return;
    }
  }
  throw new Error(`unhandled error case operation ${String(c.operation)}`);
}

function runEncode(c: HarmonyCase): void {
  const text = c.text as string;
  const allowed = c.allowed_special as 'all' | string[];
  const disallowed = c.disallowed_special as 'all' | string[];
  let tokens: number[];
  if (allowed === 'all' || allowed.length > 0) tokens = enc.encode(text, { allowedSpecial: allowed });
  else if (disallowed === 'all') tokens = enc.encode(text);
  else tokens = enc.encodeOrdinary(text);
  expect(tokens).toEqual(c.expected_tokens);
  expect(enc.decodeUtf8(tokens)).toBe(text);
}

function runDecode(c: HarmonyCase): void {
  const tokens = c.tokens as number[];
  const text = c.decode_mode === 'utf8' ? enc.decodeUtf8(tokens) : enc.decode(tokens);
  expect(text).toBe(c.expected_text);
  if (c.expected_contains !== undefined) expect(text).toContain(c.expected_contains);
  if (c.expected_is_special_token !== undefined) expect(enc.isSpecialToken(tokens[0])).toBe(c.expected_is_special_token);
}

function runStopTokens(c: HarmonyCase): void {
  const got = c.function === 'stop_tokens' ? enc.stopTokens() : enc.stopTokensForAssistantActions();
  expect([...got].sort()).toEqual([...(c.expected_tokens as number[])].sort());
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, none was thrown');
}

const runners: Record<string, (c: HarmonyCase) => void> = {
  render_completion: runRender,
  render_conversation: runRender,
  render_training: runRender,
  render_message: runRender,
  parse: runParse,
  stream_parse: runStreamParse,
  error: runError,
  encode: runEncode,
  decode: runDecode,
  stop_tokens: runStopTokens,
};

describe('openai/harmony cases (test/fixtures/harmony-cases.json)', () => {
  it('has all 125 cases, each of a known kind', () => {
    expect(cases).toHaveLength(125);
    for (const c of cases) expect(Object.keys(runners)).toContain(c.kind);
  });

  describe.each(Object.keys(runners))('%s', (kind) => {
    const ofKind = cases.filter((c) => c.kind === kind);
    it.each(ofKind.map((c, i) => [`${c.name} [${i}]`, c] as const))('%s', (_name, c) => {
      runners[kind](c);
    });
  });
});
