import type { Conversation } from '@gptoss/harmony';
import type { GenerateEvent, Model } from '@gptoss/runtime';
import { PythonTool, browserBackendFromEnv, runAgentTurn, type BrowserBackend, type Tool } from '@gptoss/tools';
import { requestTools, type BuiltinToolSources } from './responses/builtin-tools.js';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { streamSSE } from 'hono/streaming';
import type { z } from 'zod';
import { chatGenerateOptions, collectChat, runChat } from './chat/run.js';
import { buildChatConversation } from './chat/prompt.js';
import { chatRequest } from './chat/request.js';
import { ApiError, GptossError } from './errors.js';
import { buildConversation } from './responses/prompt.js';
import { responsesRequest, type InputItem } from './responses/request.js';
import { finalResponse, outputToInput, responseGenerateOptions, runResponse, type ResponseEvent } from './responses/run.js';
import { ResponseStore } from './responses/store.js';

export interface AppOptions {
  model: Model;
  /** Name reported in `model` fields and by `/v1/models`. */
  modelId: string;
  /** Largest request body accepted, in bytes (default 16 MiB). */
  maxBodyBytes?: number;
  /** Upper bound on generated tokens per request (default 4096). */
  maxOutputTokens?: number;
  /**
   * Backend of the browser behind `web_search` tools, one browser per request (default: `browserBackendFromEnv()`,
   * keyless local search unless BROWSER_BACKEND / API keys say otherwise).
   */
  browserBackend?: () => BrowserBackend;
  /** The tool behind `code_interpreter` (default: one stateless Pyodide `PythonTool`, created on first use). */
  pythonTool?: () => Tool;
}

async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON (${(e as Error).message}); send Content-Type: application/json with a JSON object`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const param = issue.path.join('.') || null;
    throw new ApiError(400, `invalid request: ${param ?? 'body'}: ${issue.message}`, 'invalid_request_error', param);
  }
  return parsed.data;
}

/** A string `input` is shorthand for one user message item. */
function asItems(input: InputItem[] | string): InputItem[] {
  return typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input;
}

/**
 * The OpenAI-compatible HTTP API over a loaded model: `POST /v1/responses`, `POST /v1/chat/completions`,
 * `GET /v1/models`. Errors use OpenAI's `{error: {message, type, param, code}}` body.
 */
export function createApp(opts: AppOptions): Hono {
  const { model, modelId } = opts;
  const maxOut = opts.maxOutputTokens ?? 4096;
  const store = new ResponseStore();
  let python: Tool | undefined;
  const sources: BuiltinToolSources = {
    browserBackend: opts.browserBackend ?? (() => browserBackendFromEnv()),
    python: opts.pythonTool ?? (() => (python ??= new PythonTool())),
  };
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.toBody(), err.status as 400);
    const status = GptossError.isInstance(err) && err.name === 'InvalidArgumentError' ? 400 : 500;
    const type = status === 400 ? 'invalid_request_error' : 'server_error';
    return c.json({ error: { message: err.message, type, param: null, code: null } }, status);
  });
  app.notFound((c) => c.json({ error: { message: `no route for ${c.req.method} ${c.req.path}`, type: 'invalid_request_error', param: null, code: 'not_found' } }, 404));
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: opts.maxBodyBytes ?? 16 * 1024 * 1024,
      onError: (c) => c.json({ error: { message: `request body exceeds ${opts.maxBodyBytes ?? 16 * 1024 * 1024} bytes`, type: 'invalid_request_error', param: null, code: 'request_too_large' } }, 413),
    }),
  );

  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: [{ id: modelId, object: 'model', created: 0, owned_by: 'gptoss' }] }),
  );
  app.get('/health', (c) => c.json({ status: 'ok', model: modelId, backend: model.backend }));

  app.post('/v1/responses', async (c) => {
    const req = await readJson(c, responsesRequest);
    let input: InputItem[] | string = req.input;
    if (req.previous_response_id) {
      const prev = store.get(req.previous_response_id);
      if (!prev) throw new ApiError(404, `no stored response with id "${req.previous_response_id}" (responses are stored only when created with store: true)`, 'invalid_request_error', 'previous_response_id');
      input = [...asItems(prev.input), ...(outputToInput(prev.response.output) as InputItem[]), ...asItems(input)];
      if (req.instructions == null && prev.instructions) req.instructions = prev.instructions;
    }
    const tools = requestTools(req, sources);
    const conversation = buildConversation(req, input, undefined, tools.namespaces);
    const signal = c.req.raw.signal;
    const options = responseGenerateOptions(req, maxOut, signal);
    // max_output_tokens bounds the whole response, across the sampling rounds between tool calls.
    let used = 0;
    const generate = async function* (conv: Conversation): AsyncGenerator<GenerateEvent> {
      for await (const e of model.generate(conv, { ...options, maxTokens: Math.max(0, (options.maxTokens ?? maxOut) - used) })) {
        if (e.type === 'done') used += e.tokens.length;
        yield e;
      }
    };
    const generation = runAgentTurn(conversation, { generate, tools: tools.tools, route: tools.route, signal });
    const events = runResponse({ modelId, request: req, generation, builtin: tools.builtin, ...(tools.browser ? { browser: tools.browser } : {}) });
    const remember = (last: ResponseEvent) => {
      if (req.store) store.set(finalResponse(last).id, { input, instructions: req.instructions, response: finalResponse(last) });
    };
    if (req.stream) {
      return streamSSE(c, async (s) => {
        let last: ResponseEvent | undefined;
        for await (const e of events) {
          last = e;
          await s.writeSSE({ event: e.type, data: JSON.stringify(e) });
        }
        if (last) remember(last);
      });
    }
    let last: ResponseEvent | undefined;
    for await (const e of events) last = e;
    remember(last!);
    return c.json(finalResponse(last!));
  });

  app.post('/v1/chat/completions', async (c) => {
    const req = await readJson(c, chatRequest);
    const conversation = buildChatConversation(req);
    const chunks = runChat(modelId, req, model.generate(conversation, chatGenerateOptions(req, maxOut, c.req.raw.signal)));
    if (req.stream) {
      return streamSSE(c, async (s) => {
        for await (const ch of chunks) await s.writeSSE({ data: JSON.stringify(ch) });
        await s.writeSSE({ data: '[DONE]' });
      });
    }
    return c.json(await collectChat(chunks));
  });

  return app;
}
