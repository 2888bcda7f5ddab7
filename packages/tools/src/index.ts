export {
  GptossError,
  ToolError,
  ToolChannelMismatchError,
  BackendUnavailableError,
  PatchError,
  PathEscapeError,
} from './errors.js';
export type { Tool, ToolProcessOptions } from './tool.js';
export { BaseTool, toolMessage, withCallerChannel, messageText, errorText } from './tool.js';
export * from './python/index.js';
