// The runAgentTurn example of README.md, as written there (console.log collected instead of printed).
import { Conversation, Message, StreamableParser, loadHarmonyEncoding } from '@gptoss/harmony';
import { expect, test } from 'vitest';
import { runAgentTurn } from '../../src/agent-loop.js';
import { PythonTool } from '../../src/python/index.js';

test('README runAgentTurn example', async () => {
  const logged: string[] = [];
  const log = (...a: unknown[]) => logged.push(a.join(' '));

  const encoding = loadHarmonyEncoding();
  const turns = ['<|channel|>analysis to=python code<|message|>print(6 * 7)<|call|>', '<|channel|>final<|message|>42.<|return|>'];
  async function* generate(_conversation: Conversation) {
    const tokens = encoding.encode(turns.shift()!, { allowedSpecial: 'all' });
    const parser = new StreamableParser(encoding, 'assistant');
    for (const token of tokens) yield* parser.push(token);
    yield* parser.end();
    yield { type: 'done' as const, messages: parser.messages, tokens, stopReason: 'stop-token' as const };
  }

  const python = new PythonTool();
  const conversation = Conversation.fromMessages([Message.fromRoleAndContent('user', 'What is 6 times 7?')]);
  let stopReason: string | undefined;
  for await (const ev of runAgentTurn(conversation, { generate, tools: [python] })) {
    if (ev.type === 'tool-result') log(ev.call.recipient, ev.replies[0]!.text.trim());
    if (ev.type === 'agent-done') {
      conversation.messages.push(...ev.messages);
      stopReason = ev.stopReason;
    }
  }
  await python.close();

  expect(logged).toEqual(['python 42']);
  expect(stopReason).toBe('answer');
  expect(conversation.messages.map((m) => `${m.author.role}${m.author.name ? `:${m.author.name}` : ''}`)).toEqual([
    'user',
    'assistant',
    'tool:python',
    'assistant',
  ]);
}, 60_000);
