import { describe, expect, it } from 'vitest';
import {
  Author,
  Conversation,
  DeveloperContent,
  HarmonyRenderError,
  jsonSchemaToTypeScript,
  loadHarmonyEncoding,
  Message,
  SystemContent,
  ToolNamespaceConfig,
} from '../src/index.js';

const enc = loadHarmonyEncoding();
const text = (tokens: number[]) => enc.decodeUtf8(tokens);

const weatherTool = {
  name: 'get_current_weather',
  description: 'Gets the current weather in the provided location.',
  parameters: {
    type: 'object',
    properties: {
      location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
      format: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
    },
    required: ['location'],
  },
};

describe('rendering (inline snapshots of exact harmony text)', () => {
  it('a conversation with a function tool, for completion', () => {
    const convo = Conversation.fromMessages([
      Message.fromRoleAndContent('system', SystemContent.new().withConversationStartDate('2025-06-28')),
      Message.fromRoleAndContent('developer', DeveloperContent.new().withInstructions('Answer briefly.').withFunctionTools([weatherTool])),
      Message.fromRoleAndContent('user', 'Weather in Tokyo?'),
    ]);
    expect(text(enc.renderConversationForCompletion(convo, 'assistant'))).toMatchInlineSnapshot(`
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
      Knowledge cutoff: 2024-06
      Current date: 2025-06-28

      Reasoning: medium

      # Valid channels: analysis, commentary, final. Channel must be included for every message.
      Calls to these tools must go to the commentary channel: 'functions'.<|end|><|start|>developer<|message|># Instructions

      Answer briefly.

      # Tools

      ## functions

      namespace functions {

      // Gets the current weather in the provided location.
      type get_current_weather = (_: {
      // The city and state, e.g. San Francisco, CA
      location: string,
      format?: "celsius" | "fahrenheit", // default: celsius
      }) => any;

      } // namespace functions<|end|><|start|>user<|message|>Weather in Tokyo?<|end|><|start|>assistant"
    `);
  });

  it('a tool call turn: call, result, final answer; analysis before the first final is dropped', () => {
    const convo = Conversation.fromMessages([
      Message.fromRoleAndContent('user', 'Weather in Tokyo?'),
      Message.fromRoleAndContent('assistant', 'Need to call the tool.').withChannel('analysis'),
      Message.fromRoleAndContent('assistant', '{"location":"Tokyo"}')
        .withChannel('commentary')
        .withRecipient('functions.get_current_weather')
        .withContentType('<|constrain|>json'),
      Message.fromAuthorAndContent(new Author('tool', 'functions.get_current_weather'), '{"temp":20}')
        .withChannel('commentary')
        .withRecipient('assistant'),
      Message.fromRoleAndContent('assistant', 'It is 20°C.').withChannel('final'),
    ]);
    expect(text(enc.renderConversation(convo))).toMatchInlineSnapshot(`"<|start|>user<|message|>Weather in Tokyo?<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary <|constrain|>json<|message|>{"location":"Tokyo"}<|call|><|start|>functions.get_current_weather to=assistant<|channel|>commentary<|message|>{"temp":20}<|end|><|start|>assistant<|channel|>final<|message|>It is 20°C.<|end|>"`);
    expect(text(enc.renderConversationForTraining(convo, { autoDropAnalysis: false }))).toMatchInlineSnapshot(`"<|start|>user<|message|>Weather in Tokyo?<|end|><|start|>assistant<|channel|>analysis<|message|>Need to call the tool.<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary <|constrain|>json<|message|>{"location":"Tokyo"}<|call|><|start|>functions.get_current_weather to=assistant<|channel|>commentary<|message|>{"temp":20}<|end|><|start|>assistant<|channel|>final<|message|>It is 20°C.<|return|>"`);
  });

  it('built-in browser and python tools in the system message', () => {
    const sys = SystemContent.new().withReasoningEffort('low').withPythonTool().withBrowserTool();
    const rendered = text(enc.render(Message.fromRoleAndContent('system', sys)));
    expect(rendered.indexOf('## browser')).toBeLessThan(rendered.indexOf('## python'));
    expect(rendered).toMatchInlineSnapshot(`
      "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.
      Knowledge cutoff: 2024-06

      Reasoning: low

      # Tools

      ## browser

      // Tool for browsing.
      // The \`cursor\` appears in brackets before each browsing display: \`[{cursor}]\`.
      // Cite information from the tool using the following format:
      // \`【{cursor}†L{line_start}(-L{line_end})?】\`, for example: \`【6†L9-L11】\` or \`【8†L3】\`.
      // Do not quote more than 10 words directly from the tool output.
      // sources=web (default: web)
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

      Use this tool to execute Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).

      When you send a message containing Python code to python, it will be executed in a stateful Jupyter notebook environment. python will respond with the output of the execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save and persist user files. Internet access for this session is UNKNOWN. Depends on the cluster.

      # Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
    `);
  });
});

describe('jsonSchemaToTypeScript', () => {
  it('nested objects, arrays of objects, enums, defaults, nullable, type arrays', () => {
    const schema = {
      type: 'object',
      properties: {
        user: {
          type: 'object',
          description: 'Who asks',
          properties: {
            name: { type: 'string' },
            tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] }, default: ['a'] },
            address: { type: 'object', properties: { city: { type: 'string', default: 'Paris' } }, required: ['city'] },
          },
          required: ['name'],
        },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' } } } },
        any_list: { type: 'array' },
        mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast', nullable: true },
        count: { type: ['integer', 'null'], default: 1.5 },
        flag: { type: 'boolean', default: false },
        weird: { type: 'mystery' },
        untyped: {},
      },
      required: ['user'],
    };
    expect(jsonSchemaToTypeScript(schema)).toMatchInlineSnapshot(`
      "{
      // Who asks
      user:     // Who asks
      {
          name: string,
          tags?: "a" | "b"[], // default: ["a"]
          address?: {
              city: string, // default: "Paris"
              },
          },
      items?: {
          id?: number,
          }[],
      any_list?: Array<any>,
      mode?: "fast" | "slow" | null, // default: fast
      count?: number | null, // default: 1.5
      flag?: boolean, // default: false
      weird?: any,
      untyped?: any,
      }"
    `);
  });

  it('top-level oneOf, property oneOf with description dedup, non-object parameters', () => {
    expect(
      jsonSchemaToTypeScript({
        oneOf: [
          { type: 'string', enum: ['x'], default: 'x', description: 'an enum' },
          { type: 'number', nullable: true },
        ],
      }),
    ).toMatchInlineSnapshot(`
      "
       | "x" // an enum default: "x"
       | number | null"
    `);
    expect(
      jsonSchemaToTypeScript({
        type: 'object',
        properties: {
          same: { description: 'shared', oneOf: [{ type: 'string', description: 'shared' }, { type: 'number', description: 'n' }] },
          other: { description: 'prop', default: 'd', oneOf: [{ type: 'string', description: 'first' }, { type: 'object', properties: { a: { type: 'string' } } }] },
        },
      }),
    ).toMatchInlineSnapshot(`
      "{
      same?:
       | string
       | number // n
      ,
      // prop
      // default: "d"
      other?:
       | string
       | {
         a?: string,
         }
      ,
      }"
    `);
    const ns = new ToolNamespaceConfig('functions', undefined, [
      { name: 'apply_patch', description: 'Patch files.', parameters: { type: 'string', description: 'not printed', default: 'x' } },
    ]);
    const dev = DeveloperContent.new().withTools(ns);
    expect(text(enc.render(Message.fromRoleAndContent('developer', dev)))).toContain('type apply_patch = (_: string) => any;');
  });
});

describe('render rules', () => {
  it('header: author name, recipient all, channel, plain content type, call terminator', () => {
    const m = new Message({ author: new Author('user', 'alice'), content: 'hi', recipient: 'all', channel: 'c', contentType: 'code' });
    expect(text(enc.render(m))).toBe('<|start|>user:alice<|channel|>c code<|message|>hi<|end|>');
    const call = Message.fromRoleAndContent('assistant', 'x').withRecipient('all');
    expect(text(enc.render(call))).toBe('<|start|>assistant<|message|>x<|call|>');
    const constrainOnly = Message.fromRoleAndContent('assistant', 'x').withContentType('<|constrain|>');
    expect(enc.render(constrainOnly)).toEqual([200006, 173781, 220, 200003, 200008, 87, 200007]);
  });

  it('special-token text inside content is plain text', () => {
    const tokens = enc.render(Message.fromRoleAndContent('user', '<|start|>'));
    expect(tokens).toEqual([200006, 1428, 200008, 27, 91, 5236, 91, 29, 200007]);
  });

  it('errors say what is wrong', () => {
    expect(() => enc.render(Message.fromRoleAndContent('tool', 'x'))).toThrow(/Tools should have a name/);
    expect(() => enc.render(Message.fromRoleAndContent('user', SystemContent.new()))).toThrow(HarmonyRenderError);
    expect(() => enc.render(Message.fromRoleAndContent('system', DeveloperContent.new()))).toThrow(/DeveloperContent may only appear in developer messages/);
  });

  it('developer content with neither instructions nor tools is empty; function note only with functions', () => {
    expect(text(enc.render(Message.fromRoleAndContent('developer', DeveloperContent.new())))).toBe('<|start|>developer<|message|><|end|>');
    const emptyFns = DeveloperContent.new().withFunctionTools([]);
    const convo = [Message.fromRoleAndContent('system', SystemContent.new()), Message.fromRoleAndContent('developer', emptyFns)];
    expect(text(enc.renderConversation(convo))).not.toContain("'functions'");
  });

  it('autoDropAnalysis: keeps analysis after the first final and while a tool call is pending', () => {
    const u = (s: string) => Message.fromRoleAndContent('user', s);
    const a = (s: string, ch: string) => Message.fromRoleAndContent('assistant', s).withChannel(ch);
    const convo = [u('q1'), a('A1', 'analysis'), a('F1', 'final'), u('q2'), a('A2', 'analysis'), a('F2', 'final')];
    const t = text(enc.renderConversation(convo));
    expect(t).not.toContain('A1');
    expect(t).toContain('A2');
    expect(text(enc.renderConversation(convo, { autoDropAnalysis: false }))).toContain('A1');
    const pending = [u('q'), a('A', 'analysis'), a('{}', 'commentary').withRecipient('functions.f')];
    expect(text(enc.renderConversation(pending))).toContain('A');
    expect(text(enc.renderConversationForCompletion(convo, 'user')).endsWith('<|start|>user')).toBe(true);
  });
});
