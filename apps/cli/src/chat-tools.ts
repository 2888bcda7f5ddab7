import { DeveloperContent, Message, SystemContent, type ReasoningEffort } from '@gptoss/harmony';
import {
  APPLY_PATCH_TOOL_DESCRIPTION,
  ApplyPatchTool,
  BrowserTool,
  PythonTool,
  browserBackendFromEnv,
  type BrowserBackend,
  type Tool,
} from '@gptoss/tools';

/** The chat's tool flags (SPEC §6.1): `-b/--browser`, `-p/--python`, `-a/--apply-patch`. */
export interface ChatToolFlags {
  browser?: boolean;
  python?: boolean;
  applyPatch?: boolean;
}

/** The tools of one chat, and what the prompt must say about them. */
export interface ChatTools {
  tools: Tool[];
  browser?: BrowserTool;
  python?: PythonTool;
  applyPatch?: ApplyPatchTool;
  /** A fresh browser (no pages seen) for a new conversation; the other tools keep no conversation state. */
  resetBrowser(): void;
  close(): Promise<void>;
}

/**
 * Builds the enabled tools. The browser's backend comes from the environment (`BROWSER_BACKEND`, API keys; keyless
 * local search by default), python runs in the Pyodide sandbox (Docker when `PYTHON_EXECUTION_BACKEND=docker`), and
 * apply_patch edits files under `cwd` only.
 */
export async function createChatTools(flags: ChatToolFlags, opts: { cwd: string; browserBackend?: () => BrowserBackend }): Promise<ChatTools> {
  const backend = opts.browserBackend ?? (() => browserBackendFromEnv());
  const python = flags.python
    ? await PythonTool.create({ backend: process.env.PYTHON_EXECUTION_BACKEND === 'docker' ? 'docker' : 'pyodide' })
    : undefined;
  const applyPatch = flags.applyPatch ? new ApplyPatchTool(opts.cwd) : undefined;
  const out: ChatTools = {
    tools: [],
    python,
    applyPatch,
    resetBrowser() {
      out.browser = flags.browser ? new BrowserTool({ backend: backend() }) : undefined;
      out.tools = [out.browser, python, applyPatch].filter((t): t is NonNullable<typeof t> => t !== undefined);
    },
    async close() {
      await python?.close();
    },
  };
  out.resetBrowser();
  return out;
}

/**
 * The conversation's opening: the system message (reasoning effort, today's date, the browser and python
 * namespaces) and, with instructions or apply_patch, a developer message (instructions, the apply_patch guide and
 * its function).
 */
export function chatPreamble(o: { reasoningEffort: ReasoningEffort; instructions?: string }, tools?: ChatTools, now = new Date()): Message[] {
  let system = SystemContent.new().withReasoningEffort(o.reasoningEffort).withConversationStartDate(now.toISOString().slice(0, 10));
  if (tools?.browser) system = system.withTools(tools.browser.toolConfig());
  if (tools?.python) system = system.withTools(tools.python.toolConfig());
  const out = [Message.fromRoleAndContent('system', system)];
  const patch = tools?.applyPatch;
  if (o.instructions || patch) {
    const text = patch ? (o.instructions ? `${o.instructions}\n` : '') + patch.instructions() : o.instructions;
    let dev = DeveloperContent.new().withInstructions(text);
    if (patch) dev = dev.withFunctionTools([APPLY_PATCH_TOOL_DESCRIPTION]);
    out.push(Message.fromRoleAndContent('developer', dev));
  }
  return out;
}
