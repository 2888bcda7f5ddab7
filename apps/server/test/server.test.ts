import { createCheckpoint, loadModel, presetConfig, type Model } from '@gptoss/runtime';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startServer, type RunningServer } from '../src/index.js';

// The real stack end to end: a tiny random checkpoint in the real layout, the runtime's reference backend, the
// real HTTP server, and the official `openai` client. Random weights mean random text, so these tests check the
// protocol (shapes, event order, usage arithmetic, errors), not the words.

let dir: string;
let model: Model;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-server-'));
  await createCheckpoint({ dir, config: presetConfig('tiny'), seed: 7 });
  model = await loadModel(dir, { backend: 'reference' });
  server = await startServer(model, { modelId: 'gpt-oss-tiny', port: 0, maxOutputTokens: 24, maxBodyBytes: 64 * 1024 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('models', () => {
  test('lists the served model', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['gpt-oss-tiny']);
  });
});

describe('responses', () => {
  test('non-streaming response has the Responses shape and consistent usage', async () => {
    const r = await client.responses.create({ model: 'gpt-oss-tiny', input: 'Hello, how can I help you today?', max_output_tokens: 12, temperature: 0.7 });
    expect(r.object).toBe('response');
    expect(r.id).toMatch(/^resp_[0-9a-f]{32}$/);
    expect(['completed', 'incomplete']).toContain(r.status);
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    expect(r.usage!.output_tokens).toBeGreaterThan(0);
    expect(r.usage!.output_tokens).toBeLessThanOrEqual(12);
    const r2 = await client.responses.create({ model: 'x', input: 'Hello, how can I help you today? '.repeat(4), max_output_tokens: 2 });
    expect(r2.id).not.toBe(r.id);
    expect(r2.usage!.input_tokens).toBeGreaterThan(r.usage!.input_tokens);
  });

  test('streaming events arrive in order with increasing sequence numbers', async () => {
    const stream = await client.responses.create({ model: 'gpt-oss-tiny', input: 'Hi', stream: true, max_output_tokens: 16, temperature: 1 });
    const events: { type: string; sequence_number: number }[] = [];
    for await (const e of stream) events.push(e);
    expect(events[0]!.type).toBe('response.created');
    expect(events[1]!.type).toBe('response.in_progress');
    expect(['response.completed', 'response.incomplete']).toContain(events.at(-1)!.type);
    events.forEach((e, i) => expect(e.sequence_number).toBe(i));
    // Every item that was added is also done, in order.
    const added = events.filter((e) => e.type === 'response.output_item.added').length;
    const done = events.filter((e) => e.type === 'response.output_item.done').length;
    expect(done).toBe(added);
  });

  test('store + previous_response_id continues a conversation; unknown ids are a 404', async () => {
    const first = await client.responses.create({ model: 'm', input: 'Remember 42.', store: true, max_output_tokens: 4 });
    const next = await client.responses.create({ model: 'm', input: 'What number?', previous_response_id: first.id, max_output_tokens: 4 });
    expect(next.previous_response_id).toBe(first.id);
    expect(next.usage!.input_tokens).toBeGreaterThan(first.usage!.input_tokens);
    await expect(client.responses.create({ model: 'm', input: 'x', previous_response_id: 'resp_nope' })).rejects.toMatchObject({ status: 404 });
  });

  test('function tools and tool outputs are accepted; a dangling call_id is a 400', async () => {
    const tools = [{ type: 'function' as const, name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false }];
    const r = await client.responses.create({
      model: 'm',
      tools,
      max_output_tokens: 4,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"temp":20}' },
      ],
    });
    expect(r.usage!.input_tokens).toBeGreaterThan(0);
    await expect(
      client.responses.create({ model: 'm', input: [{ type: 'function_call_output', call_id: 'nope', output: '1' }] }),
    ).rejects.toMatchObject({ status: 400 });
  });
});

describe('chat completions', () => {
  test('non-streaming completion', async () => {
    const r = await client.chat.completions.create({
      model: 'gpt-oss-tiny',
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi!' }],
      max_tokens: 10,
      seed: 1,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]!.message.role).toBe('assistant');
    expect(['stop', 'length', 'tool_calls']).toContain(r.choices[0]!.finish_reason);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
  });

  test('streaming completion ends with a finish reason and usage when asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-oss-tiny',
      messages: [{ role: 'user', content: 'Count to three.' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 8,
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.at(-1)!.choices[0]!.finish_reason).not.toBeNull();
    expect(chunks.at(-1)!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  test('same seed, same answer', async () => {
    const ask = () => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'Say something.' }], max_tokens: 8, seed: 123, temperature: 1 });
    const [a, b] = [await ask(), await ask()];
    expect(a.choices[0]!.message).toEqual(b.choices[0]!.message);
  });
});

describe('bad input', () => {
  test('invalid JSON, missing fields and wrong types are 400 with an OpenAI error body', async () => {
    const post = (body: string) => fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const r1 = await post('{not json');
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
    const r2 = await post('{}');
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: { param: string } }).error.param).toBe('messages');
    const r3 = await post(JSON.stringify({ messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }));
    expect(r3.status).toBe(400);
  });

  test('oversized bodies are refused with 413 before any work', async () => {
    const r = await fetch(`${server.url}/v1/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'x'.repeat(100 * 1024) }) });
    expect(r.status).toBe(413);
  });

  test('a tool message without a matching call is a 400 naming the id', async () => {
    await expect(
      client.chat.completions.create({ model: 'm', messages: [{ role: 'tool', tool_call_id: 'call_x', content: '1' }] }),
    ).rejects.toMatchObject({ status: 400, message: expect.stringContaining('call_x') });
  });

  test('unknown routes are 404', async () => {
    expect((await fetch(`${server.url}/v1/nothing`)).status).toBe(404);
  });
});
