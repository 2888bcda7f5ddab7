import { z } from 'zod';

// Request bodies are validated at the edge. Unknown fields are accepted and ignored (the reference server and
// OpenAI's API both do), so clients sending newer fields keep working.

const inputText = z.object({ type: z.enum(['input_text', 'output_text', 'text']), text: z.string() }).passthrough();
const reasoningText = z.object({ type: z.enum(['reasoning_text', 'summary_text']), text: z.string() }).passthrough();

export const messageItem = z
  .object({
    type: z.literal('message').optional(),
    role: z.enum(['user', 'assistant', 'system', 'developer']),
    content: z.union([z.string(), z.array(inputText)]),
  })
  .passthrough();

export const reasoningItem = z
  .object({
    type: z.literal('reasoning'),
    content: z.array(reasoningText).optional(),
    summary: z.array(reasoningText).optional(),
  })
  .passthrough();

export const functionCallItem = z
  .object({ type: z.literal('function_call'), call_id: z.string(), name: z.string(), arguments: z.string() })
  .passthrough();

export const functionCallOutputItem = z
  .object({ type: z.literal('function_call_output'), call_id: z.string(), output: z.string() })
  .passthrough();

const ignoredItem = z.object({ type: z.enum(['web_search_call', 'code_interpreter_call']) }).passthrough();

export const inputItem = z.union([messageItem, reasoningItem, functionCallItem, functionCallOutputItem, ignoredItem]);
export type InputItem = z.infer<typeof inputItem>;

export const functionTool = z
  .object({
    type: z.literal('function'),
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  })
  .passthrough();

const builtinTool = z.object({ type: z.enum(['browser_search', 'web_search', 'web_search_preview', 'code_interpreter']) }).passthrough();

export const responsesRequest = z
  .object({
    model: z.string().optional(),
    input: z.union([z.string(), z.array(inputItem)]),
    instructions: z.string().nullish(),
    tools: z.array(z.union([functionTool, builtinTool])).default([]),
    reasoning: z
      .object({ effort: z.enum(['low', 'medium', 'high']).nullish() })
      .passthrough()
      .nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    max_output_tokens: z.number().int().positive().nullish(),
    stream: z.boolean().nullish(),
    store: z.boolean().nullish(),
    previous_response_id: z.string().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    seed: z.number().int().nullish(),
  })
  .passthrough();

export type ResponsesRequest = z.infer<typeof responsesRequest>;
