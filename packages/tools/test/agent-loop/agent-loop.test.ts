import { Conversation, Message, SystemContent } from '@gptoss/harmony';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runAgentTurn, type AgentEvent } from '../../src/agent-loop.js';
import { ApplyPatchTool } from '../../src/apply-patch/index.js';
import { BrowserTool, LocalBackend } from '../../src/browser/index.js';
import { PythonTool } from '../../src/python/index.js';
import { scripted } from './replay.js';

// The loop with the real tools, driven by scripted model turns (real harmony tokens through the real parser).

let dir: string;
const python = new PythonTool();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-agent-'));
});
afterAll(async () => {
  await python.close();
  await rm(dir, { recursive: true, force: true });
});

async function collect(it: AsyncIterable<AgentEvent>): Promise<AgentEvent[]> {
  const out: AgentEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const user = (text: string) => Conversation.fromMessages([Message.fromRoleAndContent('system', SystemContent.new()), Message.fromRoleAndContent('user', text)]);
const textOf = (m: Message) => (m.content[0] as { text: string }).text;

describe('runAgentTurn', () => {
  test('python: the call runs in the real sandbox and its output is in the next prompt', async () => {
    const model = scripted([
      '<|channel|>analysis<|message|>Compute it.<|end|><|start|>assistant<|channel|>analysis to=python code<|message|>print(6*7)<|call|>',
      '<|channel|>final<|message|>It is 42.<|return|>',
    ]);
    const events = await collect(runAgentTurn(user('6 times 7?'), { generate: model.generate, tools: [python] }));
    expect(events.filter((e) => e.type === 'tool-call' || e.type === 'tool-result').map((e) => e.type)).toEqual(['tool-call', 'tool-result']);
    const done = events.at(-1)!;
    expect(done).toMatchObject({ type: 'agent-done', stopReason: 'answer' });
    const added = (done as { messages: Message[] }).messages;
    expect(added.map((m) => [m.author.role, m.author.name ?? null, m.recipient ?? null, m.channel])).toEqual([
      ['assistant', null, null, 'analysis'],
      ['assistant', null, 'python', 'analysis'],
      ['tool', 'python', 'assistant', 'analysis'],
      ['assistant', null, null, 'final'],
    ]);
    expect(textOf(added[2]!).trim()).toBe('42');
    // The second sampling round saw the tool's reply, rendered as harmony.
    expect(model.seen).toHaveLength(2);
    expect(model.rendered()[1]).toContain('<|start|>python to=assistant<|channel|>analysis<|message|>42\n<|end|><|start|>assistant');
  }, 60_000);

  test('apply_patch: a functions.apply_patch call edits files under its root only', async () => {
    const work = join(dir, 'work');
    const tool = new ApplyPatchTool(work);
    await import('node:fs/promises').then((fs) => fs.mkdir(work, { recursive: true }));
    await writeFile(join(work, 'a.txt'), 'one\ntwo\n');
    const patch = '*** Begin Patch\\n*** Update File: a.txt\\n@@\\n one\\n-two\\n+zwei\\n*** Add File: b.txt\\n+new\\n*** End Patch';
    const escape = '*** Begin Patch\\n*** Add File: ../evil.txt\\n+x\\n*** End Patch';
    const model = scripted([
      `<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>{"patch":"${patch}"}<|call|>`,
      `<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>{"patch":"${escape}"}<|call|>`,
      '<|channel|>final<|message|>Done.<|return|>',
    ]);
    const events = await collect(runAgentTurn(user('edit'), { generate: model.generate, tools: [tool] }));
    const results = events.filter((e) => e.type === 'tool-result').map((e) => textOf((e as { replies: Message[] }).replies[0]!));
    expect(results[0]).toBe('Done!');
    expect(results[1]).toMatch(/^Error applying patch: /);
    expect(await readFile(join(work, 'a.txt'), 'utf8')).toBe('one\nzwei\n');
    expect(await readFile(join(work, 'b.txt'), 'utf8')).toBe('new');
    await expect(readFile(join(dir, 'evil.txt'))).rejects.toThrow();
    expect(model.rendered()[1]).toContain('<|start|>functions.apply_patch to=assistant<|channel|>commentary<|message|>Done!<|end|>');
  });

  test('browser over a local folder: search then open; a developer function call ends the turn', async () => {
    const docs = join(dir, 'docs');
    await import('node:fs/promises').then((fs) => fs.mkdir(docs, { recursive: true }));
    await writeFile(join(docs, 'mxfp4.md'), '# MXFP4\n\nMXFP4 stores 32 values in 16 bytes plus one shared scale.\n');
    await writeFile(join(docs, 'other.md'), '# Other\n\nNothing to see here.\n');
    const browser = new BrowserTool({ backend: new LocalBackend({ root: docs }) });
    const model = scripted([
      '<|channel|>analysis to=browser.search code<|message|>{"query":"MXFP4 scale"}<|call|>',
      '<|channel|>analysis to=browser.open code<|message|>{"id":0}<|call|>',
      '<|channel|>commentary to=functions.save <|constrain|>json<|message|>{"x":1}<|call|>',
    ]);
    const events = await collect(runAgentTurn(user('What is MXFP4?'), { generate: model.generate, tools: [browser] }));
    const done = events.at(-1) as { type: string; stopReason: string; pendingCall?: Message };
    expect(done.stopReason).toBe('function-call');
    expect(done.pendingCall!.recipient).toBe('functions.save');
    const rendered = model.rendered();
    expect(rendered[1]).toMatch(/<\|start\|>browser\.search to=assistant<\|channel\|>analysis<\|message\|>\[0\] MXFP4 scale/);
    expect(rendered[1]).toContain('【0†MXFP4†local】');
    expect(rendered[2]).toContain('<|start|>browser.open to=assistant');
    expect(rendered[2]).toContain('32 values in 16 bytes');
    expect(browser.pageStack).toEqual(['', 'docs://local/mxfp4.md']);
    expect(browser.normalizeCitations('See 【1†L2】.').text).toBe('See  ([local](docs://local/mxfp4.md)) .');
  });

  test('the tool-call limit ends the turn', async () => {
    const call = '<|channel|>analysis to=python code<|message|>print(1)<|call|>';
    const model = scripted([call, call]);
    const events = await collect(runAgentTurn(user('x'), { generate: model.generate, tools: [python], maxToolCalls: 1 }));
    expect(events.at(-1)).toMatchObject({ type: 'agent-done', stopReason: 'tool-limit' });
  }, 60_000);
});
