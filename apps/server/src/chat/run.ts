import type { GenerateEvent, GenerateOptions } from '@gptoss/runtime';
import { newId } from '../ids.js';
import type { ChatRequest } from './request.js';

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: Record<string, unknown>; finish_reason: string | null; logprobs: null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } } | null;
}

/**
 * Streams a chat completion as OpenAI chunks: `reasoning_content` deltas for the analysis channel (the field vLLM
 * and others use), `content` deltas for the final answer, `tool_calls` deltas for calls to `functions.*`.
 * The last chunk has the finish reason (`stop`, `tool_calls`, `length`) and, if asked, the usage.
 */
export async function* runChat(modelId: string, req: ChatRequest, generation: AsyncIterable<GenerateEvent>): AsyncGenerator<ChatChunk> {
  const id = newId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): ChatChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: modelId,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  yield chunk({ role: 'assistant', content: '' });
  let route: 'reasoning' | 'content' | 'tool' | 'skip' = 'skip';
  let toolIndex = -1;
  let finish = 'stop';
  let usage: ChatChunk['usage'] = null;
  for await (const g of generation) {
    if (g.type === 'message-start') {
      const r = g.recipient;
      if (r !== undefined && r !== 'assistant' && r !== 'all') {
        route = 'tool';
        toolIndex++;
        finish = 'tool_calls';
        yield chunk({
          tool_calls: [{ index: toolIndex, id: newId('call_'), type: 'function', function: { name: r.replace(/^functions\./, ''), arguments: '' } }],
        });
      } else if (g.channel === 'analysis') route = 'reasoning';
      else if (g.channel === 'final' || g.channel === undefined) route = 'content';
      else route = 'skip';
    } else if (g.type === 'content-delta') {
      if (route === 'reasoning') yield chunk({ reasoning_content: g.delta });
      else if (route === 'content') yield chunk({ content: g.delta });
      else if (route === 'tool') yield chunk({ tool_calls: [{ index: toolIndex, function: { arguments: g.delta } }] });
    } else if (g.type === 'done') {
      if (g.stopReason !== 'stop-token') finish = 'length';
      usage = {
        prompt_tokens: g.stats.promptTokens,
        completion_tokens: g.stats.completionTokens,
        total_tokens: g.stats.promptTokens + g.stats.completionTokens,
        prompt_tokens_details: { cached_tokens: g.stats.cachedTokens },
      };
    }
  }
  const last = chunk({}, finish);
  if (req.stream_options?.include_usage || !req.stream) last.usage = usage;
  yield last;
}

/** Sampling options for a chat request; `cap` bounds max_tokens. */
export function chatGenerateOptions(req: ChatRequest, cap: number, signal?: AbortSignal): GenerateOptions {
  return {
    maxTokens: Math.min(req.max_completion_tokens ?? req.max_tokens ?? cap, cap),
    temperature: req.temperature ?? 1,
    topP: req.top_p ?? 1,
    ...(req.seed != null ? { seed: req.seed } : {}),
    ...(signal ? { signal } : {}),
  };
}

/** Folds the chunks of {@link runChat} into one `chat.completion` object (non-streaming responses). */
export async function collectChat(chunks: AsyncIterable<ChatChunk>): Promise<Record<string, unknown>> {
  let base: ChatChunk | null = null;
  let content = '';
  let reasoning = '';
  const calls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  let finish: string | null = null;
  let usage: ChatChunk['usage'] = null;
  for await (const c of chunks) {
    base ??= c;
    const ch = c.choices[0]!;
    const d = ch.delta as { content?: string; reasoning_content?: string; tool_calls?: { index: number; id?: string; function: { name?: string; arguments: string } }[] };
    if (d.content) content += d.content;
    if (d.reasoning_content) reasoning += d.reasoning_content;
    for (const t of d.tool_calls ?? []) {
      if (t.id) calls[t.index] = { id: t.id, type: 'function', function: { name: t.function.name ?? '', arguments: '' } };
      calls[t.index]!.function.arguments += t.function.arguments;
    }
    if (ch.finish_reason) finish = ch.finish_reason;
    if (c.usage) usage = c.usage;
  }
  const message: Record<string, unknown> = { role: 'assistant', content: calls.length > 0 && !content ? null : content, refusal: null };
  if (reasoning) message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  return {
    id: base!.id,
    object: 'chat.completion',
    created: base!.created,
    model: base!.model,
    choices: [{ index: 0, message, finish_reason: finish, logprobs: null }],
    usage,
  };
}
