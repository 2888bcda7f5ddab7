import type { HarmonyEvent } from '@gptoss/harmony';
import type { GenerateEvent, GenerateOptions } from '@gptoss/runtime';
import { newId } from '../ids.js';
import type { ResponsesRequest } from './request.js';

/** The Responses API object (the subset of fields OpenAI returns that apply to a local model). */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  model: string;
  output: OutputItem[];
  usage: Usage | null;
  error: null | { code: string; message: string };
  incomplete_details: null | { reason: 'max_output_tokens' };
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, unknown>;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: null };
  store: boolean;
  temperature: number;
  text: { format: { type: 'text' } };
  tool_choice: 'auto';
  tools: unknown[];
  top_p: number;
}

export interface Usage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export type OutputItem =
  | { type: 'reasoning'; id: string; summary: []; content: { type: 'reasoning_text'; text: string }[]; status?: string }
  | {
      type: 'message';
      id: string;
      role: 'assistant';
      status: 'in_progress' | 'completed' | 'incomplete';
      content: { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }[];
    }
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' | 'incomplete' };

export type ResponseEvent = { type: string; sequence_number: number } & Record<string, unknown>;

/** What an assistant message becomes in the output, decided from its header. */
function kindOf(ev: { channel?: string; recipient?: string }): 'reasoning' | 'message' | 'function_call' | 'skip' {
  const r = ev.recipient;
  if (r !== undefined && r !== 'assistant' && r !== 'all') return 'function_call';
  if (ev.channel === 'analysis') return 'reasoning';
  if (ev.channel === 'final' || ev.channel === undefined) return 'message';
  // A commentary message without a recipient is a "preamble"; the reference server drops it.
  return 'skip';
}

export interface RunContext {
  modelId: string;
  request: ResponsesRequest;
  /** The generation to report, e.g. `model.generate(conversation, generateOptions(request, cap))`. */
  generation: AsyncIterable<GenerateEvent>;
}

/** Sampling options for a Responses request; `cap` bounds max_output_tokens. */
export function responseGenerateOptions(req: ResponsesRequest, cap: number, signal?: AbortSignal): GenerateOptions {
  return {
    maxTokens: Math.min(req.max_output_tokens ?? cap, cap),
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    ...(req.seed != null ? { seed: req.seed } : {}),
    ...(signal ? { signal } : {}),
  };
}

/**
 * Runs one response and yields the Responses streaming events in OpenAI's order (created, in_progress, then per
 * output item added → deltas → done, then completed). The last event carries the final response object.
 */
export async function* runResponse(ctx: RunContext): AsyncGenerator<ResponseEvent> {
  const { request: req } = ctx;
  let seq = 0;
  const ev = (type: string, body: Record<string, unknown>): ResponseEvent => ({ type, sequence_number: seq++, ...body });
  const response: ResponseObject = {
    id: newId('resp_'),
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status: 'in_progress',
    model: ctx.modelId,
    output: [],
    usage: null,
    error: null,
    incomplete_details: null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    metadata: req.metadata ?? {},
    parallel_tool_calls: false,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: { effort: req.reasoning?.effort ?? 'low', summary: null },
    store: req.store ?? false,
    temperature: req.temperature ?? 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: req.tools,
    top_p: req.top_p ?? 1,
  };
  const snapshot = () => structuredClone(response);
  yield ev('response.created', { response: snapshot() });
  yield ev('response.in_progress', { response: snapshot() });

  let current: { item: OutputItem; index: number; text: string } | null = null;
  let reasoningTokens = 0;
  let inReasoning = false;
  let done: Extract<GenerateEvent, { type: 'done' }> | null = null;

  const startItem = function* (h: Extract<HarmonyEvent, { type: 'message-start' }>): Generator<ResponseEvent> {
    const kind = kindOf(h);
    if (kind === 'skip') {
      current = null;
      return;
    }
    let item: OutputItem;
    if (kind === 'reasoning') item = { type: 'reasoning', id: newId('rs_'), summary: [], content: [] };
    else if (kind === 'message') item = { type: 'message', id: newId('msg_'), role: 'assistant', status: 'in_progress', content: [] };
    else {
      item = {
        type: 'function_call',
        id: newId('fc_'),
        call_id: newId('call_'),
        name: (h.recipient ?? '').replace(/^functions\./, ''),
        arguments: '',
        status: 'in_progress',
      };
    }
    const index = response.output.length;
    response.output.push(item);
    current = { item, index, text: '' };
    yield ev('response.output_item.added', { output_index: index, item: structuredClone(item) });
    if (item.type === 'message') {
      yield ev('response.content_part.added', {
        item_id: item.id,
        output_index: index,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      });
    } else if (item.type === 'reasoning') {
      yield ev('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: { type: 'reasoning_text', text: '' } });
    }
  };

  const finishItem = function* (status: 'completed' | 'incomplete'): Generator<ResponseEvent> {
    if (!current) return;
    const { item, index, text } = current;
    current = null;
    if (item.type === 'message') {
      const part = { type: 'output_text' as const, text, annotations: [], logprobs: [] };
      item.content = [part];
      item.status = status;
      yield ev('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text, logprobs: [] });
      yield ev('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
    } else if (item.type === 'reasoning') {
      const part = { type: 'reasoning_text' as const, text };
      item.content = [part];
      yield ev('response.reasoning_text.done', { item_id: item.id, output_index: index, content_index: 0, text });
      yield ev('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
    } else {
      item.arguments = text;
      item.status = status;
      yield ev('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: text });
    }
    yield ev('response.output_item.done', { output_index: index, item: structuredClone(item) });
  };

  for await (const g of ctx.generation) {
    if (g.type === 'token') {
      if (inReasoning) reasoningTokens++;
    } else if (g.type === 'message-start') {
      yield* finishItem('completed');
      inReasoning = g.channel === 'analysis';
      yield* startItem(g);
    } else if (g.type === 'content-delta') {
      const c = current as { item: OutputItem; index: number; text: string } | null;
      if (!c) continue;
      c.text += g.delta;
      const base = { item_id: c.item.id, output_index: c.index };
      if (c.item.type === 'message') yield ev('response.output_text.delta', { ...base, content_index: 0, delta: g.delta, logprobs: [] });
      else if (c.item.type === 'reasoning') yield ev('response.reasoning_text.delta', { ...base, content_index: 0, delta: g.delta });
      else yield ev('response.function_call_arguments.delta', { ...base, delta: g.delta });
    } else if (g.type === 'message-end') {
      yield* finishItem(g.stopToken === undefined ? 'incomplete' : 'completed');
      inReasoning = false;
    } else if (g.type === 'done') {
      done = g;
    }
  }
  yield* finishItem('incomplete');

  const stats = done?.stats;
  const input = stats?.promptTokens ?? 0;
  const output = stats?.completionTokens ?? 0;
  response.usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: stats?.cachedTokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: input + output,
  };
  if (done?.stopReason === 'max-tokens' || done?.stopReason === 'context-full') {
    response.status = 'incomplete';
    response.incomplete_details = { reason: 'max_output_tokens' };
    yield ev('response.incomplete', { response: snapshot() });
  } else {
    response.status = 'completed';
    yield ev('response.completed', { response: snapshot() });
  }
}

/** The final response object carried by the last event of {@link runResponse}. */
export function finalResponse(last: ResponseEvent): ResponseObject {
  return last.response as ResponseObject;
}

/** Parsed messages to output items, for a stored response replayed as input (previous_response_id). */
export function outputToInput(output: OutputItem[]): unknown[] {
  return output.map((o) => {
    if (o.type === 'message') return { type: 'message', role: 'assistant', content: o.content.map((c) => ({ type: 'output_text', text: c.text })) };
    if (o.type === 'reasoning') return { type: 'reasoning', content: o.content };
    return { type: 'function_call', call_id: o.call_id, name: o.name, arguments: o.arguments };
  });
}
