import { z } from 'zod';

// Chat Completions request, validated at the edge. Unknown fields pass through and are ignored.

const textPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const content = z.union([z.string(), z.array(textPart)]).nullish();

const toolCall = z
  .object({
    id: z.string(),
    type: z.literal('function').default('function'),
    function: z.object({ name: z.string(), arguments: z.string() }),
  })
  .passthrough();

export const chatMessage = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content, name: z.string().optional() }).passthrough(),
  z.object({ role: z.literal('developer'), content, name: z.string().optional() }).passthrough(),
  z.object({ role: z.literal('user'), content, name: z.string().optional() }).passthrough(),
  z
    .object({
      role: z.literal('assistant'),
      content,
      // Reasoning carried back from an earlier turn, under the names vLLM/Ollama/OpenRouter use.
      reasoning_content: z.string().nullish(),
      reasoning: z.string().nullish(),
      tool_calls: z.array(toolCall).nullish(),
    })
    .passthrough(),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string() }).passthrough(),
]);
export type ChatMessage = z.infer<typeof chatMessage>;

export const chatTool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().min(1),
        description: z.string().nullish(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      })
      .passthrough(),
  })
  .passthrough();

export const chatRequest = z
  .object({
    model: z.string().optional(),
    messages: z.array(chatMessage).min(1),
    tools: z.array(chatTool).nullish(),
    tool_choice: z.unknown().optional(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    max_tokens: z.number().int().positive().nullish(),
    max_completion_tokens: z.number().int().positive().nullish(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).passthrough().nullish(),
    reasoning_effort: z.enum(['low', 'medium', 'high']).nullish(),
    seed: z.number().int().nullish(),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().int().min(0).max(20).nullish(),
    n: z.literal(1).nullish(),
  })
  .passthrough();
export type ChatRequest = z.infer<typeof chatRequest>;
