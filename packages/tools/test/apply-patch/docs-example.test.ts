// The example at the top of docs/apply-patch.md (and README.md).
import { Message } from '@gptoss/harmony';
import { expect, test } from 'vitest';
import { ApplyPatchTool } from '../../src/apply-patch/apply-patch-tool.js';
import { MemoryEditor } from '../../src/apply-patch/editor.js';

test('docs/apply-patch.md example', async () => {
  const editor = new MemoryEditor({ 'hello.py': 'def greet():\n    print("hello")\n' });
  const tool = new ApplyPatchTool(editor);
  const patch = [
    '*** Begin Patch',
    '*** Update File: hello.py',
    '@@ def greet():',
    '-    print("hello")',
    '+    print("hello, world")',
    '*** End Patch',
  ].join('\n');
  const call = Message.fromRoleAndContent('assistant', patch).withChannel('commentary').withRecipient('functions.apply_patch');
  const printed: string[] = [];
  for await (const reply of tool.process(call)) printed.push(`${reply.author.name} ${reply.channel} ${reply.text}`);
  expect(printed).toEqual(['functions.apply_patch commentary Done!']);
  expect(editor.files.get('hello.py')).toBe('def greet():\n    print("hello, world")\n');
});
