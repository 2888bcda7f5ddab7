import type { Conversation } from '@gptoss/harmony';
import type { GenerateEvent, GenerateOptions, Model } from '@gptoss/runtime';
import { LocalBackend, PythonTool } from '@gptoss/tools';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runAgentTurn } from '@gptoss/tools';
import { startServer, type RunningServer } from '../src/index.js';
import { requestTools } from '../src/responses/builtin-tools.js';
import { buildConversation } from '../src/responses/prompt.js';
import { responsesRequest } from '../src/responses/request.js';
import { runResponse, type ResponseEvent, type ResponseObject } from '../src/responses/run.js';
import { enc, replay, scripted } from './replay.js';

// Built-in tools of the Responses API with scripted model turns (real harmony tokens through the real parser) and
// the real tools: the browser over a local folder of documents, python in the Pyodide sandbox.

let dir: string;
const python = new PythonTool();
const sources = () => ({ browserBackend: () => new LocalBackend({ root: join(dir, 'docs') }), python: () => python });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-builtin-'));
  await mkdir(join(dir, 'docs'));
  await writeFile(join(dir, 'docs', 'mxfp4.md'), '# MXFP4\n\nMXFP4 stores 32 values in 16 bytes plus one shared scale.\n');
  await writeFile(join(dir, 'docs', 'other.md'), '# Other\n\nNothing here.\n');
});
afterAll(async () => {
  await python.close();
  await rm(dir, { recursive: true, force: true });
});

const SEARCH = '<|channel|>analysis<|message|>Look it up.<|end|><|start|>assistant<|channel|>analysis to=browser.search code<|message|>{"query":"MXFP4 scale"}<|call|>';
const OPEN = '<|channel|>analysis to=browser.open code<|message|>{"id":0}<|call|>';
const FIND = '<|channel|>analysis to=browser.find code<|message|>{"pattern":"bytes"}<|call|>';
const CITED = '<|channel|>final<|message|>32 values share one scale【1†L3】.<|return|>';
const PY = '<|channel|>analysis to=python code<|message|>print(6*7)<|call|>';
const PY_FN = '<|channel|>commentary to=functions.python <|constrain|>json<|message|>print(6*7)<|call|><|return|>';
const ANSWER = '<|channel|>final<|message|>42.<|return|>';

async function respond(body: Record<string, unknown>, turns: string[]) {
  const req = responsesRequest.parse(body);
  const tools = requestTools(req, sources());
  const model = scripted(turns);
  const generation = runAgentTurn(buildConversation(req, req.input, undefined, tools.namespaces), { generate: model.generate, tools: tools.tools, route: tools.route });
  const events: ResponseEvent[] = [];
  for await (const e of runResponse({ modelId: 'm', request: req, generation, builtin: tools.builtin, ...(tools.browser ? { browser: tools.browser } : {}) })) events.push(e);
  const types = events.map((e) => e.type).filter((t, i, a) => !(t.endsWith('.delta') && a[i - 1] === t));
  return { events, types, response: events.at(-1)!.response as ResponseObject, prompts: model.rendered() };
}

describe('web_search', () => {
  test('search, open and find become web_search_call items; citations become url_citation annotations', async () => {
    const r = await respond({ input: 'How does MXFP4 scale?', tools: [{ type: 'web_search' }] }, [SEARCH, OPEN, FIND, CITED]);
    expect(r.prompts[0]).toContain('## browser');
    expect(r.prompts[0]).toContain('sources=web');
    const searchEvents = ['response.output_item.added', 'response.web_search_call.in_progress', 'response.web_search_call.searching', 'response.web_search_call.completed', 'response.output_item.done'];
    expect(r.types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      ...searchEvents,
      ...searchEvents,
      ...searchEvents,
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.annotation.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const url = 'docs://local/mxfp4.md';
    expect(r.response.output.slice(1, 4)).toMatchObject([
      { type: 'web_search_call', id: expect.stringMatching(/^ws_[0-9a-f]{32}$/), status: 'completed', action: { type: 'search', query: 'MXFP4 scale' } },
      { type: 'web_search_call', status: 'completed', action: { type: 'open_page', url } },
      { type: 'web_search_call', status: 'completed', action: { type: 'find', pattern: 'bytes', url } },
    ]);
    const text = '32 values share one scale ([local](docs://local/mxfp4.md)) .';
    const annotation = { type: 'url_citation', start_index: 25, end_index: 59, title: 'local', url };
    expect(r.response.output[4]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text, annotations: [annotation] }] });
    expect(r.events.find((e) => e.type === 'response.output_text.annotation.added')).toMatchObject({ annotation_index: 0, annotation });
    // The page the model opened was fed back before the next round.
    expect(r.prompts[2]).toContain('32 values in 16 bytes');
    // Usage: the input is the first prompt; the output is everything after it (sampled and fed-back tool tokens).
    const count = (t: string) => enc.tokenizer.encode(t, { allowedSpecial: 'all' }).length;
    expect(r.response.usage).toMatchObject({ input_tokens: count(r.prompts[0]!), output_tokens: count(r.prompts[3]!) + count(CITED) - count(r.prompts[0]!) });
  });

  test('functions.browser.search is the browser too, unless a developer function has that name', async () => {
    const call = '<|channel|>commentary to=functions.browser.search <|constrain|>json<|message|>{"query":"MXFP4"}<|call|>';
    const r = await respond({ input: 'x', tools: [{ type: 'browser_search' }] }, [call, ANSWER]);
    expect(r.response.output.map((o) => o.type)).toEqual(['web_search_call', 'message']);
    const fn = { type: 'function', name: 'browser.search', parameters: { type: 'object' } };
    const r2 = await respond({ input: 'x', tools: [{ type: 'browser_search' }, fn] }, [call]);
    expect(r2.response.output).toMatchObject([{ type: 'function_call', name: 'browser.search', arguments: '{"query":"MXFP4"}' }]);
  });
});

describe('code_interpreter', () => {
  test('a python call runs in the sandbox: code_interpreter_call item with its logs, then the answer', async () => {
    const r = await respond({ input: '6*7?', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] }, [PY, ANSWER]);
    expect(r.prompts[0]).toContain('## python');
    expect(r.types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.code_interpreter_call.in_progress',
      'response.code_interpreter_call_code.delta',
      'response.code_interpreter_call_code.done',
      'response.code_interpreter_call.interpreting',
      'response.code_interpreter_call.completed',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(r.response.output[0]).toMatchObject({ type: 'code_interpreter_call', id: expect.stringMatching(/^ci_/), status: 'completed', code: 'print(6*7)', outputs: [{ type: 'logs', logs: '42\n' }] });
    expect(r.prompts[1]).toContain('<|start|>python to=assistant<|channel|>analysis<|message|>42\n<|end|>');
  }, 60_000);

  test('functions.python is python when code_interpreter is on', async () => {
    const r = await respond({ input: 'x', tools: [{ type: 'code_interpreter' }] }, [PY_FN, ANSWER]);
    expect(r.response.output[0]).toMatchObject({ type: 'code_interpreter_call', outputs: [{ type: 'logs', logs: '42\n' }] });
  }, 60_000);
});

describe('over HTTP with the openai client', () => {
  let server: RunningServer;
  let turns: string[] = [];
  beforeAll(async () => {
    // A model stand-in that replays the scripted turns: the HTTP layer, the loop and the tools are real.
    const model = {
      backend: 'reference',
      encoding: enc,
      generate: (_c: Conversation, _o: GenerateOptions): AsyncGenerator<GenerateEvent> => replay(turns.shift()!),
    } as unknown as Model;
    server = await startServer(model, { modelId: 'scripted', port: 0, browserBackend: sources().browserBackend, pythonTool: () => python });
  });
  afterAll(async () => server?.close());

  test('streams web_search_call events and url_citation annotations', async () => {
    turns = [SEARCH, OPEN, CITED];
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.responses.create({ model: 'scripted', input: 'MXFP4?', tools: [{ type: 'web_search_preview' }], stream: true });
    const events = [];
    for await (const e of stream) events.push(e);
    expect(events.filter((e) => e.type === 'response.web_search_call.completed')).toHaveLength(2);
    const done = events.at(-1)!;
    expect(done.type).toBe('response.completed');
    const response = (done as { response: OpenAI.Responses.Response }).response;
    const msg = response.output.find((o) => o.type === 'message') as OpenAI.Responses.ResponseOutputMessage;
    expect((msg.content[0] as OpenAI.Responses.ResponseOutputText).text).toBe('32 values share one scale ([local](docs://local/mxfp4.md)) .');
    expect((msg.content[0] as OpenAI.Responses.ResponseOutputText).annotations).toEqual([
      { type: 'url_citation', start_index: 25, end_index: 59, title: 'local', url: 'docs://local/mxfp4.md' },
    ]);
  });

  test('code_interpreter non-streaming', async () => {
    turns = [PY, ANSWER];
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const r = await client.responses.create({ model: 'scripted', input: '6*7?', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] });
    expect(r.output[0]).toMatchObject({ type: 'code_interpreter_call', status: 'completed', outputs: [{ type: 'logs', logs: '42\n' }] });
    expect(r.output_text).toBe('42.');
  }, 60_000);
});
