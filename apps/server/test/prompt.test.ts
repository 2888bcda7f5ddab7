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

describe('built-in tools → system namespaces', () => {
  test('web_search adds the browser namespace, code_interpreter the stateless python one', () => {
    const req = responsesRequest.parse({ input: 'Hi', tools: [{ type: 'web_search_preview' }, { type: 'code_interpreter', container: { type: 'auto' } }] });
    expect(render(buildConversation(req, req.input, now))).toMatchInlineSnapshot(`
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
      Knowledge cutoff: 2024-06
      Current date: 2025-08-05

      Reasoning: low

      # Tools

      ## browser

      // Tool for browsing.
      // The \`cursor\` appears in brackets before each browsing display: \`[{cursor}]\`.
      // Cite information from the tool using the following format:
      // \`【{cursor}†L{line_start}(-L{line_end})?】\`, for example: \`【6†L9-L11】\` or \`【8†L3】\`.
      // Do not quote more than 10 words directly from the tool output.
      // sources=web
      namespace browser {

      // Searches for information related to \`query\` and displays \`topn\` results.
      type search = (_: {
      query: string,
      topn?: number, // default: 10
      source?: string,
      }) => any;

      // Opens the link \`id\` from the page indicated by \`cursor\` starting at line number \`loc\`, showing \`num_lines\` lines.
      // Valid link ids are displayed with the formatting: \`【{id}†.*】\`.
      // If \`cursor\` is not provided, the most recent page is implied.
      // If \`id\` is a string, it is treated as a fully qualified URL associated with \`source\`.
      // If \`loc\` is not provided, the viewport will be positioned at the beginning of the document or centered on the most relevant passage, if available.
      // Use this function without \`id\` to scroll to a new location of an opened page.
      type open = (_: {
      id?: number | string, // default: -1
      cursor?: number, // default: -1
      loc?: number, // default: -1
      num_lines?: number, // default: -1
      view_source?: boolean, // default: false
      source?: string,
      }) => any;

      // Finds exact matches of \`pattern\` in the current page, or the page given by \`cursor\`.
      type find = (_: {
      pattern: string,
      cursor?: number, // default: -1
      }) => any;

      } // namespace browser

      ## python

      Use this tool to execute STATELESS Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).
      When you send a message containing python code to python, it will be executed in a stateless docker container, and the stdout of that process will be returned to you. You have to use print statements to access the output.

      IMPORTANT: Your python environment is not shared between calls. You will have to pass your entire code each time.

      # Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|><|start|>user<|message|>Hi<|end|><|start|>assistant"
    `);
  });
});
