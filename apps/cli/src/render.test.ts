import { expect, test } from 'vitest';
import { Author, Message, StreamableParser, SystemContent, loadHarmonyEncoding } from '@gptoss/harmony';
import type { GenerateEvent } from '@gptoss/runtime';
import { EventPrinter, RawPrinter } from './render.js';

const enc = loadHarmonyEncoding('HarmonyGptOss');

function run(completion: string, rawAfter = 16): { answer: string; side: string; printer: EventPrinter } {
  const tokens = enc.tokenizer.encode(completion, { allowedSpecial: 'all' });
  const parser = new StreamableParser(enc, 'assistant', { strict: false });
  let answer = '';
  let side = '';
  const printer = new EventPrinter({ answer: { write: (s: string) => (answer += s) }, side: { write: (s: string) => (side += s) }, color: false }, enc.tokenizer, rawAfter);
  for (const t of tokens) {
    printer.on({ type: 'token', token: t, logprob: 0 });
    for (const ev of parser.push(t)) printer.on(ev as GenerateEvent);
  }
  for (const ev of parser.end()) printer.on(ev as GenerateEvent);
  printer.on({ type: 'done', messages: parser.messages, tokens, stopReason: 'stop-token', stats: { promptTokens: 10, cachedTokens: 2, completionTokens: tokens.length, prefillMs: 10, decodeMs: 100, prefillTokensPerSecond: 800, decodeTokensPerSecond: 20 } });
  return { answer, side, printer };
}

test('reasoning goes to the side stream, the final answer to the answer stream', () => {
  const r = run('<|channel|>analysis<|message|>User asks 2+2. Easy.<|end|><|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>');
  expect(r.side).toBe('thinking: User asks 2+2. Easy.\n');
  expect(r.answer).toBe('2 + 2 = 4.\n');
  expect(r.printer.answerText).toBe('2 + 2 = 4.');
  expect(r.printer.summary('cpu')).toBe('[cpu] prompt 10 tok (2 cached, 8 prefilled at 800.0 tok/s), generated ' + r.printer.stats!.completionTokens + ' tok at 20.0 tok/s');
});

test('tool calls are shown on the side with their recipient', () => {
  const r = run('<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>');
  expect(r.side).toContain('Tool call to functions.get_weather: ');
  expect(r.side).toContain('{"city":"Paris"}');
  expect(r.answer).toBe('');
});

test('output that never becomes a harmony message is shown raw', () => {
  const r = run('just some words that the random model produced without any header at all, on and on and on', 4);
  expect(r.side).toContain('not in harmony format');
  expect(r.answer.trim()).toBe('just some words that the random model produced without any header at all, on and on and on');
});

test('--raw: the exact harmony text of preamble, user turns, completions (specials included) and tool replies', () => {
  let out = '';
  const raw = new RawPrinter({ write: (x: string) => (out += x) }, enc);
  const stats = { promptTokens: 10, cachedTokens: 0, completionTokens: 1, prefillMs: 1, decodeMs: 1, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1 };
  const stream = (completion: string) => {
    const tokens = enc.tokenizer.encode(completion, { allowedSpecial: 'all' });
    for (const t of tokens) {
      raw.onAgent({ type: 'token', token: t, logprob: 0 });
      // A multi-byte character split across tokens is held back until it is whole.
      expect(out).not.toContain('\uFFFD');
    }
    raw.onAgent({ type: 'done', messages: [], tokens, stopReason: 'stop-token', stats });
  };
  const system = Message.fromRoleAndContent('system', SystemContent.new().withConversationStartDate('2026-01-01'));
  raw.messages([system]);
  expect(raw.userStart).toBe('<|start|>user<|message|>');
  raw.user('héllo 🌍', false);
  stream('<|channel|>analysis to=python code<|message|>print("🌍")<|call|>');
  const reply = Message.fromAuthorAndContent(new Author('tool', 'python'), '🌍').withRecipient('assistant').withChannel('analysis');
  raw.onAgent({ type: 'tool-result', tool: { name: 'python' } as never, call: reply, replies: [reply] });
  stream('<|channel|>final<|message|>Done.<|return|>');
  raw.user('typed', true);
  expect(out).toBe(
    enc.tokenizer.decodeUtf8(enc.renderConversation([system])) +
      '<|start|>user<|message|>héllo 🌍<|end|>' +
      '<|start|>assistant<|channel|>analysis to=python code<|message|>print("🌍")<|call|>' +
      '<|start|>python to=assistant<|channel|>analysis<|message|>🌍<|end|>' +
      '<|start|>assistant<|channel|>final<|message|>Done.<|return|>' +
      '<|end|>',
  );
  expect(raw.answerText).toBe('<|channel|>final<|message|>Done.<|return|>');
  expect(raw.summary('cpu')).toMatch(/^\[cpu\] prompt 10 tok/);
});
