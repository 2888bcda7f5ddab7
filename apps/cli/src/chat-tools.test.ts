import { Conversation, Message, StreamableParser, loadHarmonyEncoding } from '@gptoss/harmony';
import type { GenerateEvent } from '@gptoss/runtime';
import { LocalBackend, runAgentTurn } from '@gptoss/tools';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chatPreamble, createChatTools, type ChatTools } from './chat-tools.js';
import { EventPrinter } from './render.js';

// A chat turn with tools as `gptoss chat -b -p -a` runs it, with the model's turns scripted as real harmony tokens
// (random weights never call tools) and the real tools doing the work.
const enc = loadHarmonyEncoding('HarmonyGptOss');
const now = new Date('2025-08-05T12:00:00Z');

async function* replay(completion: string): AsyncGenerator<GenerateEvent> {
  const tokens = enc.tokenizer.encode(completion, { allowedSpecial: 'all' });
  const parser = new StreamableParser(enc, 'assistant', { strict: false });
  for (const t of tokens) {
    yield { type: 'token', token: t, logprob: 0 };
    yield* parser.push(t);
  }
  yield* parser.end();
  const stats = { promptTokens: 1, cachedTokens: 0, completionTokens: tokens.length, prefillMs: 1, decodeMs: 1, prefillTokensPerSecond: 1, decodeTokensPerSecond: 1 };
  yield { type: 'done', messages: parser.messages, tokens, stopReason: 'stop-token', stats };
}

let dir: string;
let tools: ChatTools;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-chat-tools-'));
  await writeFile(join(dir, 'notes.md'), '# Notes\n\nThe answer to everything is 42.\n');
  tools = await createChatTools({ browser: true, python: true, applyPatch: true }, { cwd: dir, browserBackend: () => new LocalBackend({ root: dir }) });
});
afterAll(async () => {
  await tools.close();
  await rm(dir, { recursive: true, force: true });
});

async function chatTurn(turns: string[], show = false): Promise<{ answer: string; side: string; prompts: string[]; added: Message[] }> {
  let answer = '';
  let side = '';
  const prompts: string[] = [];
  const browser = tools.browser!;
  const printer = new EventPrinter({ answer: { write: (s: string) => (answer += s) }, side: { write: (s: string) => (side += s) }, color: false }, enc.tokenizer, 16, {
    citations: () => browser.pageStack,
    showBrowserResults: show,
  });
  const messages = [...chatPreamble({ reasoningEffort: 'low' }, tools, now), Message.fromRoleAndContent('user', 'question')];
  let added: Message[] = [];
  const generate = (c: Conversation) => {
    prompts.push(enc.tokenizer.decodeUtf8(enc.renderConversationForCompletion(c, 'assistant')));
    return replay(turns[prompts.length - 1]!);
  };
  for await (const ev of runAgentTurn(messages, { generate, tools: tools.tools })) {
    printer.onAgent(ev);
    if (ev.type === 'agent-done') added = ev.messages;
  }
  return { answer, side, prompts, added };
}

describe('gptoss chat tools', () => {
  test('the system message names the browser and python; apply_patch is a developer function', () => {
    const text = enc.tokenizer.decodeUtf8(enc.renderConversation(Conversation.fromMessages(chatPreamble({ reasoningEffort: 'high', instructions: 'Be brief.' }, tools, now))));
    expect(text).toContain('Current date: 2025-08-05');
    expect(text).toContain('## browser');
    expect(text).toContain('namespace browser {');
    expect(text).toContain('## python');
    expect(text).toContain('STATELESS Python');
    expect(text).toContain("Calls to these tools must go to the commentary channel: 'functions'.");
    expect(text).toContain('# Instructions\n\nBe brief.\n# apply_patch');
    expect(text).toContain('type apply_patch = (_: string) => any;');
  });

  test('python: the call is shown, run in the sandbox, and its output reaches the model', async () => {
    const r = await chatTurn([
      '<|channel|>analysis to=python code<|message|>print(6*7)<|call|>',
      '<|channel|>final<|message|>It is 42.<|return|>',
    ]);
    expect(r.side).toContain('Tool call to python: print(6*7)');
    expect(r.side).toContain('python: 42\n');
    expect(r.prompts[1]).toContain('<|start|>python to=assistant<|channel|>analysis<|message|>42\n<|end|>');
    expect(r.answer).toBe('It is 42.\n');
  }, 60_000);

  test('browser: results are summarised (or shown), and citations in the answer become links', async () => {
    const r = await chatTurn([
      '<|channel|>analysis to=browser.search code<|message|>{"query":"answer everything"}<|call|>',
      '<|channel|>analysis to=browser.open code<|message|>{"id":0}<|call|>',
      '<|channel|>final<|message|>It is 42【1†L3】.<|return|>',
    ]);
    expect(r.side).toContain('Tool call to browser.search: {"query":"answer everything"}');
    expect(r.side.match(/\[Search results fed to the model\]/g)).toHaveLength(2);
    expect(r.prompts[2]).toContain('The answer to everything is 42.');
    expect(r.answer).toBe('It is 42 ([local](docs://local/notes.md)) .\n');
    // The conversation keeps what the model wrote; only the display is rewritten.
    expect((r.added.at(-1)!.content[0] as { text: string }).text).toBe('It is 42【1†L3】.');

    tools.resetBrowser();
    const shown = await chatTurn(['<|channel|>analysis to=browser.search code<|message|>{"query":"answer"}<|call|>', '<|channel|>final<|message|>ok<|return|>'], true);
    expect(shown.side).toContain('browser.search: [0] answer');
  });

  test('apply_patch: edits files under the chat directory', async () => {
    const patch = JSON.stringify({ patch: '*** Begin Patch\n*** Add File: out/hello.txt\n+hi\n*** End Patch' });
    const r = await chatTurn([
      `<|channel|>commentary to=functions.apply_patch <|constrain|>json<|message|>${patch}<|call|>`,
      '<|channel|>final<|message|>Added.<|return|>',
    ]);
    expect(r.side).toContain('functions.apply_patch: Done!');
    expect(await readFile(join(dir, 'out', 'hello.txt'), 'utf8')).toBe('hi');
  });
});
