export {
  GptossError,
  ToolError,
  ToolChannelMismatchError,
  BackendUnavailableError,
  PatchError,
  PathEscapeError,
} from './errors.js';

// Common tool contract (SPEC §5.1)
export type { Tool, ToolProcessOptions } from './tool.js';
export { BaseTool, toolMessage, withCallerChannel, messageText, errorText } from './tool.js';

// The tool-calling loop: sample, run the called tool, sample again (SPEC §5.1)
export { runAgentTurn, defaultToolRouter } from './agent-loop.js';
export type {
  AgentLoopOptions,
  AgentEvent,
  AgentDoneEvent,
  AgentStopReason,
  AgentGenerateEvent,
  AgentGenerateDoneEvent,
  AgentGenerateStopReason,
  AgentGenerationStats,
  AgentTokenEvent,
  GenerateFn,
  ToolCallEvent,
  ToolResultEvent,
  ToolRoute,
  ToolRouter,
} from './agent-loop.js';

// python (SPEC §5.3)
export type {
  PythonBackend,
  PythonRunResult,
  PythonRunStatus,
  PythonRunOptions,
  PythonSandboxLimits,
  PyodideBackendOptions,
  DockerBackendOptions,
  DockerAvailability,
  PythonToolOptions,
  PythonBackendChoice,
  BackendSelection,
} from './python/index.js';
export {
  PythonTool,
  PyodideBackend,
  DockerBackend,
  detectDocker,
  selectPythonBackend,
  formatPythonResult,
  STATELESS_PYTHON_DESCRIPTION,
  NO_OUTPUT_WARNING,
} from './python/index.js';

// apply_patch (SPEC §5.4)
export type {
  ApplyPatchOptions,
  ApplyPatchResult,
  FileChange,
  ParsedPatch,
  PatchAction,
  PatchChunk,
  Editor,
  MaybePromise,
  FileSystemEditorOptions,
  ApplyPatchToolOptions,
} from './apply-patch/index.js';
export {
  applyPatch,
  applyChunks,
  patchToChanges,
  parsePatch,
  identifyFilesNeeded,
  identifyFilesAdded,
  MemoryEditor,
  FileSystemEditor,
  ApplyPatchTool,
  APPLY_PATCH_TOOL_DESCRIPTION,
  APPLY_PATCH_INSTRUCTIONS,
} from './apply-patch/index.js';

// browser (SPEC §5.2)
export * from './browser/index.js';
