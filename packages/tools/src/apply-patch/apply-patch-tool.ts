import { ToolNamespaceConfig } from '@gptoss/harmony';
import type { Message, ToolDescription } from '@gptoss/harmony';
import { BaseTool, messageText, toolMessage } from '../tool.js';
import type { ToolProcessOptions } from '../tool.js';
import { applyPatch } from './apply.js';
import type { ApplyPatchOptions } from './apply.js';
import type { Editor } from './editor.js';
import { FileSystemEditor } from './fs-editor.js';

/**
 * The developer function the seed's terminal chat exposes with `-a` (SPEC §5.4). Its schema is a bare string, so
 * harmony renders it as `type apply_patch = (_: string) => any;`.
 */
export const APPLY_PATCH_TOOL_DESCRIPTION: ToolDescription = {
  name: 'apply_patch',
  description: 'Patch a file',
  parameters: { type: 'string', description: 'Formatted patch code', default: '*** Begin Patch\n*** End Patch\n' },
};

/**
 * Developer-message instructions describing the patch format, in this project's words. The seed appends its own
 * `apply_patch.md` (coding guidelines + format); pass that text as `instructions` for prompt parity.
 */
export const APPLY_PATCH_INSTRUCTIONS = `# apply_patch

To edit files, call the \`apply_patch\` function with a patch in this format:

*** Begin Patch
*** Add File: path/to/new.txt
+every line of the new file, each starting with +
*** Delete File: path/to/old.txt
*** Update File: path/to/file.py
*** Move to: path/to/renamed.py   (optional)
@@ class Example
@@     def method(self):
 context line (starts with a space)
-line to remove
+line to add
 context line
*** End of File   (optional: the hunk ends at the end of the file)
*** End Patch

Paths are relative to the workspace root. Show about three lines of context above and below each change; when
that is not unique, add \`@@\` lines naming the enclosing class or function. Do not use line numbers.`;

/** Options of {@link ApplyPatchTool}. */
export interface ApplyPatchToolOptions extends ApplyPatchOptions {
  /** Developer instructions returned by `instructions()`; default {@link APPLY_PATCH_INSTRUCTIONS}. */
  instructions?: string;
}

/**
 * The `apply_patch` function tool: the model calls `functions.apply_patch` with a patch (raw, or JSON whose last
 * value is the patch); the reply is `Done!`, `Error parsing JSON: …` or `Error applying patch: …`.
 *
 * @example
 * ```ts
 * const tool = new ApplyPatchTool('/path/to/workspace');
 * const call = Message.fromRoleAndContent('assistant', patch).withChannel('commentary').withRecipient('functions.apply_patch');
 * for await (const reply of tool.process(call)) console.log(reply.content[0]); // { type: 'text', text: 'Done!' }
 * ```
 */
export class ApplyPatchTool extends BaseTool {
  readonly name = 'apply_patch';
  readonly editor: Editor;
  private readonly opts: ApplyPatchToolOptions;

  /** `root`: a directory (confined {@link FileSystemEditor}), or any {@link Editor}. */
  constructor(root: string | Editor, opts: ApplyPatchToolOptions = {}) {
    super();
    this.editor = typeof root === 'string' ? new FileSystemEditor(root) : root;
    this.opts = opts;
  }

  /** The `functions` namespace with just this tool; merge {@link toolDescription} into your own list otherwise. */
  toolConfig(): ToolNamespaceConfig {
    return new ToolNamespaceConfig('functions', undefined, [APPLY_PATCH_TOOL_DESCRIPTION]);
  }

  toolDescription(): ToolDescription {
    return APPLY_PATCH_TOOL_DESCRIPTION;
  }

  /** Text to append to the developer instructions. */
  instructions(): string {
    return this.opts.instructions ?? APPLY_PATCH_INSTRUCTIONS;
  }

  protected override replyAuthor(): string {
    return `functions.${this.name}`;
  }

  protected async *run(message: Message, _opts: ToolProcessOptions): AsyncIterable<Message> {
    // The seed names the reply after the call's recipient.
    const author = message.recipient?.startsWith('functions.') ? message.recipient : this.replyAuthor();
    yield toolMessage(author, await this.handle(messageText(message)), { channel: message.channel });
  }

  /** The reply text for one call's content. */
  async handle(content: string): Promise<string> {
    let patch = content;
    if (content.startsWith('{')) {
      try {
        const parsed = JSON.parse(content) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw new Error('expected a JSON object whose last value is the patch');
        }
        const key = lastKeyInSourceOrder(content);
        if (key === undefined) throw new Error('expected a JSON object whose last value is the patch, found {}');
        patch = String((parsed as Record<string, unknown>)[key]);
      } catch (e) {
        return `Error parsing JSON: ${e instanceof Error ? e.message : String(e)}`;
      }
    }
    try {
      return (await applyPatch(patch, this.editor, this.opts)).message;
    } catch (e) {
      return `Error applying patch: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
}

/**
 * The key Python's `dict.popitem()` would return for this JSON object: the last distinct key in source order.
 * (JavaScript objects list integer-like keys first, so `Object.keys` cannot answer this.) `text` is valid JSON.
 */
function lastKeyInSourceOrder(text: string): string | undefined {
  const seen = new Set<string>();
  let last: string | undefined;
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (!seen.has(key)) {
          seen.add(key);
          last = key;
        }
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return last;
}
