import { Message } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import { ApplyPatchTool, APPLY_PATCH_TOOL_DESCRIPTION } from '../../src/apply-patch/apply-patch-tool.js';
import { MemoryEditor } from '../../src/apply-patch/editor.js';
import { messageText } from '../../src/tool.js';

const PATCH = '*** Begin Patch\n*** Update File: a.txt\n-old\n+new\n*** End Patch';

const call = (content: string) =>
  Message.fromRoleAndContent('assistant', content)
    .withChannel('commentary')
    .withRecipient('functions.apply_patch')
    .withContentType('<|constrain|>json');

async function reply(tool: ApplyPatchTool, content: string): Promise<Message> {
  const out: Message[] = [];
  for await (const m of tool.process(call(content))) out.push(m);
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe('ApplyPatchTool', () => {
  test('the function description of SPEC §5.4', () => {
    const tool = new ApplyPatchTool(new MemoryEditor());
    expect(APPLY_PATCH_TOOL_DESCRIPTION).toEqual({
      name: 'apply_patch',
      description: 'Patch a file',
      parameters: { type: 'string', description: 'Formatted patch code', default: '*** Begin Patch\n*** End Patch\n' },
    });
    const config = tool.toolConfig();
    expect(config.name).toBe('functions');
    expect(config.tools).toEqual([APPLY_PATCH_TOOL_DESCRIPTION]);
    expect(tool.instructions()).toContain('*** Begin Patch');
  });

  test('raw patch → Done!, from functions.apply_patch to assistant on the caller\'s channel', async () => {
    const editor = new MemoryEditor({ 'a.txt': 'old\n' });
    const m = await reply(new ApplyPatchTool(editor), PATCH);
    expect(m.toJSON()).toEqual({
      role: 'tool',
      name: 'functions.apply_patch',
      content: [{ type: 'text', text: 'Done!' }],
      channel: 'commentary',
      recipient: 'assistant',
    });
    expect(editor.files.get('a.txt')).toBe('new\n');
  });

  test('JSON content: the value of the last key is the patch', async () => {
    const editor = new MemoryEditor({ 'a.txt': 'old\n' });
    expect(messageText(await reply(new ApplyPatchTool(editor), JSON.stringify({ note: 'x', patch: PATCH })))).toBe('Done!');
    expect(editor.files.get('a.txt')).toBe('new\n');
  });

  test('JSON content: "last" is source order, as Python dicts keep it (integer-like keys included)', async () => {
    const editor = new MemoryEditor({ 'a.txt': 'old\n' });
    const tool = new ApplyPatchTool(editor);
    const content = `{"patch": ${JSON.stringify(PATCH)}, "1": "not a patch", "x": {"patch": "nested, \\"quoted\\" \\\\"}, "1": 2}`;
    expect(messageText(await reply(tool, content))).toBe('Error applying patch: Patch text must start with *** Begin Patch');
    const content2 = `{"1": "not a patch", "patch": ${JSON.stringify(PATCH)}}`;
    expect(messageText(await reply(tool, content2))).toBe('Done!');
  });

  test('bad JSON → Error parsing JSON: …', async () => {
    const text = messageText(await reply(new ApplyPatchTool(new MemoryEditor()), '{"patch": '));
    expect(text).toMatch(/^Error parsing JSON: /);
  });

  test('a failing patch → Error applying patch: {message}', async () => {
    const tool = new ApplyPatchTool(new MemoryEditor({ 'a.txt': 'other\n' }));
    expect(messageText(await reply(tool, PATCH))).toBe('Error applying patch: Invalid context at 0:\nold');
    expect(messageText(await reply(tool, 'hello'))).toBe('Error applying patch: Patch text must start with *** Begin Patch');
    expect(messageText(await reply(tool, PATCH.replace('a.txt', 'b.txt')))).toBe(
      "Error applying patch: [Errno 2] No such file or directory: 'b.txt'",
    );
  });

  test('a directory root gives a confined file-system editor', async () => {
    const tool = new ApplyPatchTool('/nonexistent-root-for-test');
    const text = messageText(await reply(tool, '*** Begin Patch\n*** Add File: ../x\n+x\n*** End Patch'));
    expect(text).toBe("Error applying patch: Path escapes the workspace root: ../x ('..' segment). Use a path relative to the root, without '..'.");
  });
});
