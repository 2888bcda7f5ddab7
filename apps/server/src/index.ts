export { createApp } from './app.js';
export type { AppOptions } from './app.js';
export { startServer } from './serve.js';
export type { ServeOptions, RunningServer } from './serve.js';
export { ApiError, GptossError } from './errors.js';
export { buildConversation } from './responses/prompt.js';
export { buildChatConversation } from './chat/prompt.js';
export { runResponse, responseGenerateOptions } from './responses/run.js';
export type { ResponseObject, OutputItem, ResponseEvent, Usage } from './responses/run.js';
export { runChat, collectChat, chatGenerateOptions } from './chat/run.js';
export type { ChatChunk } from './chat/run.js';
export { runAgentTurn, defaultToolRouter } from './agent-loop.js';
export type {
  AgentLoopOptions,
  AgentEvent,
  AgentDoneEvent,
  AgentStopReason,
  GenerateFn,
  ToolCallEvent,
  ToolResultEvent,
  ToolRoute,
  ToolRouter,
} from './agent-loop.js';
