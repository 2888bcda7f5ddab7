import type { HarmonyEvent, Message } from '@gptoss/harmony';
import type { GenerateEvent, GenerateOptions } from '@gptoss/runtime';
import { CitationStream, type AgentEvent, type BrowserTool, type UrlCitation } from '@gptoss/tools';
import { browserAction } from './builtin-tools.js';
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
  | { type: 'function_call'; id: string; call_id: string; name: string; arguments: string; status: 'in_progress' | 'completed' | 'incomplete' }
  | { type: 'web_search_call'; id: string; status: 'in_progress' | 'searching' | 'completed' | 'failed'; action: Record<string, unknown> }
  | {
      type: 'code_interpreter_call';
      id: string;
      status: 'in_progress' | 'interpreting' | 'completed' | 'failed';
      code: string;
      container_id: string;
      outputs: { type: 'logs'; logs: string }[] | null;
    };

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
  /**
   * The generation to report: `model.generate(conversation, responseGenerateOptions(request, cap))`, or a turn with
   * built-in tools from `runAgentTurn` (several sampling rounds, with tool-call/tool-result events between them).
   */
  generation: AsyncIterable<AgentEvent<GenerateEvent>>;
  /** Which calls are built-in tools (their messages become web_search_call / code_interpreter_call items). */
  builtin?: (recipient: string) => 'browser' | 'python' | undefined;
  /** The request's browser: final-text citations become url_citation annotations, and call actions name URLs. */
  browser?: BrowserTool;
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

  type Current = { item: OutputItem; index: number; text: string; annotations: UrlCitation[]; cite?: CitationStream };
  let current: Current | null = null;
  let reasoningTokens = 0;
  let inReasoning = false;
  let done: Extract<GenerateEvent, { type: 'done' }> | null = null;

  const startItem = function* (h: Extract<HarmonyEvent, { type: 'message-start' }>): Generator<ResponseEvent> {
    const kind = kindOf(h);
    // Built-in calls become their items once the call is complete (tool-call event), not while they stream.
    if (kind === 'skip' || (h.recipient !== undefined && ctx.builtin?.(h.recipient))) {
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
    const cite = item.type === 'message' && ctx.browser ? new CitationStream(() => ctx.browser!.pageStack) : undefined;
    current = { item, index, text: '', annotations: [], cite };
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
    const c: Current = current;
    current = null;
    if (c.cite) yield* citedDelta(c, c.cite.end());
    const { item, index, text } = c;
    if (item.type === 'message') {
      const part = { type: 'output_text' as const, text, annotations: c.annotations, logprobs: [] };
      item.content = [part];
      item.status = status;
      yield ev('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text, logprobs: [] });
      yield ev('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
    } else if (item.type === 'reasoning') {
      const part = { type: 'reasoning_text' as const, text };
      item.content = [part];
      yield ev('response.reasoning_text.done', { item_id: item.id, output_index: index, content_index: 0, text });
      yield ev('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
    } else if (item.type === 'function_call') {
      item.arguments = text;
      item.status = status;
      yield ev('response.function_call_arguments.done', { item_id: item.id, output_index: index, arguments: text });
    }
    yield ev('response.output_item.done', { output_index: index, item: structuredClone(item) });
  };

  // Final text with the browser on: deltas held while a citation is unfinished, then rewritten, with annotations.
  const citedDelta = function* (c: Current, d: { delta: string; annotations: UrlCitation[] }): Generator<ResponseEvent> {
    const base = { item_id: c.item.id, output_index: c.index, content_index: 0 };
    if (d.delta) {
      c.text += d.delta;
      yield ev('response.output_text.delta', { ...base, delta: d.delta, logprobs: [] });
    }
    for (const a of d.annotations) {
      c.annotations.push(a);
      yield ev('response.output_text.annotation.added', { ...base, annotation_index: c.annotations.length - 1, annotation: a });
    }
  };

  // A built-in tool call: its item is added before the tool runs and done after.
  let pendingTool: { item: OutputItem; index: number } | null = null;
  const toolCall = function* (name: string, call: Message): Generator<ResponseEvent> {
    yield* finishItem('completed');
    const code = (call.content[0] as { text?: string } | undefined)?.text ?? '';
    let item: OutputItem;
    if (name === 'browser') item = { type: 'web_search_call', id: newId('ws_'), status: 'in_progress', action: browserAction(call, ctx.browser) };
    else if (name === 'python') item = { type: 'code_interpreter_call', id: newId('ci_'), status: 'in_progress', code, container_id: 'local', outputs: null };
    else return;
    const index = response.output.length;
    response.output.push(item);
    pendingTool = { item, index };
    const base = { item_id: item.id, output_index: index };
    yield ev('response.output_item.added', { output_index: index, item: structuredClone(item) });
    if (item.type === 'web_search_call') {
      yield ev('response.web_search_call.in_progress', base);
      yield ev('response.web_search_call.searching', base);
    } else {
      yield ev('response.code_interpreter_call.in_progress', base);
      if (code) {
        yield ev('response.code_interpreter_call_code.delta', { ...base, delta: code });
        yield ev('response.code_interpreter_call_code.done', { ...base, code });
      }
      yield ev('response.code_interpreter_call.interpreting', base);
    }
  };
  const toolResult = function* (replies: Message[]): Generator<ResponseEvent> {
    const p = pendingTool as { item: OutputItem; index: number } | null;
    pendingTool = null;
    if (!p) return;
    const { item, index } = p;
    const base = { item_id: item.id, output_index: index };
    if (item.type === 'web_search_call') {
      // An open by link id is resolved now that the page is on the stack.
      if (item.action.type === 'open_page' && !item.action.url && ctx.browser) item.action = { ...item.action, url: ctx.browser.pageStack.at(-1) ?? '' };
      item.status = 'completed';
      yield ev('response.web_search_call.completed', base);
    } else if (item.type === 'code_interpreter_call') {
      item.status = 'completed';
      item.outputs = [{ type: 'logs', logs: replies.map((r) => (r.content[0] as { text?: string } | undefined)?.text ?? '').join('') }];
      yield ev('response.code_interpreter_call.completed', base);
    }
    yield ev('response.output_item.done', { output_index: index, item: structuredClone(item) });
  };

  let firstDone: Extract<GenerateEvent, { type: 'done' }> | null = null;
  for await (const g of ctx.generation) {
    if (g.type === 'tool-call') {
      yield* toolCall(g.tool.name, g.call);
    } else if (g.type === 'tool-result') {
      yield* toolResult(g.replies);
    } else if (g.type === 'agent-done') {
      // The last generation's done event already told how it ended.
    } else if (g.type === 'token') {
      if (inReasoning) reasoningTokens++;
    } else if (g.type === 'message-start') {
      yield* finishItem('completed');
      inReasoning = g.channel === 'analysis';
      yield* startItem(g);
    } else if (g.type === 'content-delta') {
      const c = current as Current | null;
      if (!c) continue;
      if (c.cite) {
        yield* citedDelta(c, c.cite.push(g.delta));
        continue;
      }
      c.text += g.delta;
      const base = { item_id: c.item.id, output_index: c.index };
      if (c.item.type === 'message') yield ev('response.output_text.delta', { ...base, content_index: 0, delta: g.delta, logprobs: [] });
      else if (c.item.type === 'reasoning') yield ev('response.reasoning_text.delta', { ...base, content_index: 0, delta: g.delta });
      else yield ev('response.function_call_arguments.delta', { ...base, delta: g.delta });
    } else if (g.type === 'message-end') {
      yield* finishItem(g.stopToken === undefined ? 'incomplete' : 'completed');
      inReasoning = false;
    } else if (g.type === 'done') {
      firstDone ??= g;
      done = g;
    }
  }
  yield* finishItem('incomplete');

  // With tools there are several sampling rounds: the input is the first prompt, and the output everything after
  // it (sampled tokens and the tool replies fed back), as the reference counts.
  const last = done as Extract<GenerateEvent, { type: 'done' }> | null;
  const first = firstDone as Extract<GenerateEvent, { type: 'done' }> | null;
  const input = first?.stats.promptTokens ?? 0;
  const output = last ? last.stats.promptTokens + last.stats.completionTokens - input : 0;
  response.usage = {
    input_tokens: input,
    input_tokens_details: { cached_tokens: first?.stats.cachedTokens ?? 0 },
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
    if (o.type === 'function_call') return { type: 'function_call', call_id: o.call_id, name: o.name, arguments: o.arguments };
    // Built-in calls are kept for the record; as in the reference, they are not replayed into the prompt.
    return o;
  });
}
