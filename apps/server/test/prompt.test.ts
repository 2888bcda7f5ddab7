import { loadHarmonyEncoding } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import { buildChatConversation } from '../src/chat/prompt.js';
import { chatRequest } from '../src/chat/request.js';
import { buildConversation } from '../src/responses/prompt.js';
import { responsesRequest } from '../src/responses/request.js';

const enc = loadHarmonyEncoding('HarmonyGptOss');
const now = new Date('2025-08-05T12:00:00Z');
const render = (c: Parameters<typeof enc.renderConversationForCompletion>[0]) =>
  enc.tokenizer.decodeUtf8(enc.renderConversationForCompletion(c, 'assistant'));

describe('Responses input → harmony', () => {
  test('instructions, function tools, a call and its output', () => {
    const req = responsesRequest.parse({
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'Need the tool.' }] },
        { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'c1', output: '{"temp":20}' },
      ],
      instructions: 'Be brief.',
      tools: [{ type: 'function', name: 'get_weather', description: 'Gets the weather.', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
      reasoning: { effort: 'high' },
    });
    expect(render(buildConversation(req, req.input, now))).toMatchInlineSnapshot(`
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
      Knowledge cutoff: 2024-06
      Current date: 2025-08-05

      Reasoning: high

      # Valid channels: analysis, commentary, final. Channel must be included for every message.
      Calls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Instructions

      Be brief.

      # Tools

      ## functions

      namespace functions {

      // Gets the weather.
      type get_weather = (_: {
      city: string,
      }) => any;

      } // namespace functions<|end|><|start|>user<|message|>Weather in Paris?<|end|><|start|>assistant<|channel|>analysis<|message|>Need the tool.<|end|><|start|>assistant to=functions.get_weather<|channel|>commentary <|constrain|>json<|message|>{"city":"Paris"}<|call|><|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{"temp":20}<|end|><|start|>assistant"
    `);
  });
});

describe('Chat messages → harmony', () => {
  test('system becomes developer instructions; tool calls round-trip', () => {
    const req = chatRequest.parse({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, reasoning_content: 'Call it.', tool_calls: [{ id: 't1', type: 'function', function: { name: 'w', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
      ],
      tools: [{ type: 'function', function: { name: 'w', description: 'Weather now.' } }],
    });
    expect(render(buildChatConversation(req, now))).toMatchInlineSnapshot(`
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
      Knowledge cutoff: 2024-06
      Current date: 2025-08-05

      Reasoning: low

      # Valid channels: analysis, commentary, final. Channel must be included for every message.
      Calls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Instructions

      You are terse.

      # Tools

      ## functions

      namespace functions {

      // Weather now.
      type w = () => any;

      } // namespace functions<|end|><|start|>user<|message|>Weather?<|end|><|start|>assistant<|channel|>analysis<|message|>Call it.<|end|><|start|>assistant to=functions.w<|channel|>commentary <|constrain|>json<|message|>{}<|call|><|start|>functions.w to=assistant<|channel|>commentary<|message|>sunny<|end|><|start|>assistant"
    `);
  });
});
