import { Conversation, type HarmonyEvent, type Message } from '@gptoss/harmony';
import type { Tool } from './tool.js';

// The loop only needs harmony, the Tool interface and something that samples a completion. The generation events
// are described here structurally (the consumer owns the contract, DESIGN §2) so that @gptoss/runtime's
// `Model.generate` / `Session.generate` satisfy them without this package depending on the runtime.

/** One sampled token (the runtime adds `logprob` and `topLogprobs`). */
export interface AgentTokenEvent {
  type: 'token';
  token: number;
}

/** Why one sampling round stopped: a stop token, the token budget, or the context window. */
export type AgentGenerateStopReason = 'stop-token' | 'max-tokens' | 'context-full';

/** Timing and token counts of one sampling round, when the generator reports them. */
export interface AgentGenerationStats {
  promptTokens: number;
  completionTokens: number;
  cachedTokens?: number;
  prefillMs?: number;
  decodeMs?: number;
  prefillTokensPerSecond?: number;
  decodeTokensPerSecond?: number;
}

/** The last event of one sampling round. */
export interface AgentGenerateDoneEvent {
  type: 'done';
  /** Messages parsed from the completion. */
  messages: Message[];
  tokens: number[];
  stopReason: AgentGenerateStopReason;
  stats?: AgentGenerationStats;
}

/**
 * What a generate function may yield: tokens, harmony parser events and a final `done`. The runtime's
 * `GenerateEvent` is assignable to it.
 */
export type AgentGenerateEvent = AgentTokenEvent | HarmonyEvent | AgentGenerateDoneEvent;

/** Samples one assistant completion of a conversation, e.g. `(c) => model.generate(c, options)`. */
export type GenerateFn<E extends AgentGenerateEvent = AgentGenerateEvent> = (conversation: Conversation) => AsyncIterable<E>;

/** A call the loop will run: the tool and the message to hand it (its recipient may be rewritten, see route). */
export interface ToolRoute {
  tool: Tool;
  call: Message;
}

/** Picks the tool for an assistant message addressed to `recipient`; undefined leaves the call to the caller. */
export type ToolRouter = (call: Message) => ToolRoute | undefined;

export interface AgentLoopOptions<E extends AgentGenerateEvent = AgentGenerateEvent> {
  generate: GenerateFn<E>;
  tools: readonly Tool[];
  /** Default {@link defaultToolRouter} over `tools`. */
  route?: ToolRouter;
  /** Most tool calls run in one turn before the loop gives up and returns (default 16). */
  maxToolCalls?: number;
  signal?: AbortSignal;
}

/** A tool is about to run `call` (emitted after the call message is parsed, before `process`). */
export interface ToolCallEvent {
  type: 'tool-call';
  tool: Tool;
  call: Message;
}

/** The tool answered; `replies` were appended to the conversation and sampling goes on. */
export interface ToolResultEvent {
  type: 'tool-result';
  tool: Tool;
  call: Message;
  replies: Message[];
}

/** Why a turn ended. */
export type AgentStopReason =
  /** `<|return|>`, or the completion ended without a call. */
  | 'answer'
  /** a `<|call|>` to a recipient no tool handles (a developer function): the caller answers it. */
  | 'function-call'
  | 'max-tokens'
  | 'context-full'
  | 'tool-limit';

/** The last event of a turn. */
export interface AgentDoneEvent {
  type: 'agent-done';
  /** Every message the turn added after the input: assistant messages and tool replies, in order. */
  messages: Message[];
  stopReason: AgentStopReason;
  /** With `function-call`: the unanswered call. */
  pendingCall?: Message;
}

/** Everything a turn yields: the generator's own events (type `E`), tool calls and results, and `agent-done`. */
export type AgentEvent<E extends AgentGenerateEvent = AgentGenerateEvent> = E | ToolCallEvent | ToolResultEvent | AgentDoneEvent;

/**
 * The usual routing (SPEC §5.1): `browser.*` → the tool named `browser`, `python…` → `python`,
 * `functions.NAME` → the tool named NAME (e.g. `apply_patch`).
 */
export function defaultToolRouter(tools: readonly Tool[]): ToolRouter {
  return (call) => {
    const r = call.recipient;
    if (!r) return undefined;
    for (const tool of tools) {
      if (tool.name === 'browser' && r.startsWith('browser.')) return { tool, call };
      if (tool.name === 'python' && r.startsWith('python')) return { tool, call };
      if (r === `functions.${tool.name}`) return { tool, call };
    }
    return undefined;
  };
}

function endReason(stop: AgentGenerateStopReason): AgentStopReason | undefined {
  return stop === 'max-tokens' ? 'max-tokens' : stop === 'context-full' ? 'context-full' : undefined;
}

/**
 * Runs one conversation turn with tools: samples, and while the assistant stops on `<|call|>` addressed to one of
 * `tools`, runs the tool, appends the call and the replies and samples again; ends on `<|return|>`, on a call no
 * tool handles, or when generation is cut off. Yields every generation event of every round (so a UI can stream),
 * a `tool-call`/`tool-result` pair around each tool run, and finally `agent-done` with the new messages.
 *
 * @example
 * ```ts
 * for await (const ev of runAgentTurn(conversation, { generate: (c) => model.generate(c), tools: [python] })) {
 *   if (ev.type === 'agent-done') conversation.messages.push(...ev.messages);
 * }
 * ```
 */
export async function* runAgentTurn<E extends AgentGenerateEvent = AgentGenerateEvent>(
  input: Conversation | readonly Message[],
  opts: AgentLoopOptions<E>,
): AsyncGenerator<AgentEvent<E>> {
  const base = input instanceof Conversation ? input.messages : input;
  const route = opts.route ?? defaultToolRouter(opts.tools);
  const maxCalls = opts.maxToolCalls ?? 16;
  const added: Message[] = [];
  let calls = 0;
  for (;;) {
    let done: AgentGenerateDoneEvent | undefined;
    for await (const ev of opts.generate(Conversation.fromMessages([...base, ...added]))) {
      const e: AgentGenerateEvent = ev;
      if (e.type === 'done') done = e;
      yield ev;
    }
    const produced = done?.messages ?? [];
    added.push(...produced);
    const cut = done ? endReason(done.stopReason) : undefined;
    if (cut) {
      yield { type: 'agent-done', messages: added, stopReason: cut };
      return;
    }
    const last = produced.at(-1);
    const recipient = last?.recipient;
    if (!last || !recipient || recipient === 'assistant' || recipient === 'all') {
      yield { type: 'agent-done', messages: added, stopReason: 'answer' };
      return;
    }
    const routed = route(last);
    if (!routed) {
      yield { type: 'agent-done', messages: added, stopReason: 'function-call', pendingCall: last };
      return;
    }
    if (calls >= maxCalls) {
      yield { type: 'agent-done', messages: added, stopReason: 'tool-limit', pendingCall: last };
      return;
    }
    calls++;
    opts.signal?.throwIfAborted();
    yield { type: 'tool-call', tool: routed.tool, call: routed.call };
    const replies: Message[] = [];
    for await (const reply of routed.tool.process(routed.call, opts.signal ? { signal: opts.signal } : {})) replies.push(reply);
    added.push(...replies);
    yield { type: 'tool-result', tool: routed.tool, call: routed.call, replies };
  }
}
