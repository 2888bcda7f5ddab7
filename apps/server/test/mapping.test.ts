import { StreamableParser, loadHarmonyEncoding } from '@gptoss/harmony';
import type { GenerateEvent } from '@gptoss/runtime';
import { describe, expect, test } from 'vitest';
import { collectChat, runChat } from '../src/chat/run.js';
import { chatRequest } from '../src/chat/request.js';
import { responsesRequest } from '../src/responses/request.js';
import { runResponse, type ResponseObject } from '../src/responses/run.js';

// The API mapping layer fed with what a model would stream: real harmony tokens of a known completion, parsed by
// the real StreamableParser, exactly as Model.generate interleaves them.
const enc = loadHarmonyEncoding('HarmonyGptOss');

async function* generation(completion: string, stopReason: 'stop-token' | 'max-tokens' = 'stop-token'): AsyncGenerator<GenerateEvent> {
  const tokens = enc.tokenizer.encode(completion, { allowedSpecial: 'all' });
  const parser = new StreamableParser(enc, 'assistant', { strict: false });
  for (const t of tokens) {
    yield { type: 'token', token: t, logprob: 0 };
    yield* parser.push(t);
  }
  yield* parser.end();
  yield {
    type: 'done',
    messages: parser.messages,
    tokens,
    stopReason,
    stats: { promptTokens: 100, cachedTokens: 0, completionTokens: tokens.length, prefillMs: 1, decodeMs: 1, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1 },
  };
}

const CALL = '<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"city":"Paris"}<|call|>';
const ANSWER = '<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>It is 20 °C.<|return|>';

describe('Responses mapping', () => {
  test('reasoning then function call', async () => {
    const events = [];
    for await (const e of runResponse({ modelId: 'm', request: responsesRequest.parse({ input: 'x' }), generation: generation(CALL) })) events.push(e);
    // Consecutive deltas collapse to one entry: how many there are depends on the tokenization.
    const types = events.map((e) => e.type).filter((t, i, a) => !(t.endsWith('.delta') && a[i - 1] === t));
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const r = events.at(-1)!.response as ResponseObject;
    expect(r.output).toMatchObject([
      { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Need weather.' }] },
      { type: 'function_call', name: 'get_weather', arguments: '{"city":"Paris"}', status: 'completed' },
    ]);
    expect(r.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
  });

  test('final answer; max tokens makes the response incomplete', async () => {
    let last;
    for await (const e of runResponse({ modelId: 'm', request: responsesRequest.parse({ input: 'x' }), generation: generation(ANSWER) })) last = e;
    const r = last!.response as ResponseObject;
    expect(r.status).toBe('completed');
    expect(r.output[1]).toMatchObject({ type: 'message', status: 'completed', content: [{ type: 'output_text', text: 'It is 20 °C.' }] });
    const cut = '<|channel|>final<|message|>It is';
    for await (const e of runResponse({ modelId: 'm', request: responsesRequest.parse({ input: 'x' }), generation: generation(cut, 'max-tokens') })) last = e;
    expect(last!.type).toBe('response.incomplete');
    expect((last!.response as ResponseObject).output[0]).toMatchObject({ type: 'message', status: 'incomplete' });
  });
});

describe('Chat mapping', () => {
  const req = chatRequest.parse({ messages: [{ role: 'user', content: 'x' }] });
  test('tool call → tool_calls with finish_reason tool_calls, reasoning → reasoning_content', async () => {
    const r = (await collectChat(runChat('m', req, generation(CALL)))) as { choices: { message: Record<string, unknown>; finish_reason: string }[] };
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    expect(r.choices[0]!.message).toMatchObject({
      content: null,
      reasoning_content: 'Need weather.',
      tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    });
  });
  test('final answer → content, finish_reason stop', async () => {
    const r = (await collectChat(runChat('m', req, generation(ANSWER)))) as { choices: { message: Record<string, unknown>; finish_reason: string }[] };
    expect(r.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'It is 20 °C.', reasoning_content: 'Easy.' } });
  });
});
