import { Conversation, Message } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import { defaultToolRouter, runAgentTurn, type AgentEvent, type AgentGenerateEvent } from '../../src/agent-loop.js';
import type { Tool } from '../../src/tool.js';
import { replay } from './replay.js';

const tool = (name: string): Tool => ({
  name,
  toolConfig: () => {
    throw new Error('not used');
  },
  async *process() {},
});
const call = (recipient: string) => Message.fromRoleAndContent('assistant', '{}').withRecipient(recipient);
const convo = Conversation.fromMessages([Message.fromRoleAndContent('user', 'x')]);

async function last(generate: (c: Conversation) => AsyncIterable<AgentGenerateEvent>): Promise<AgentEvent> {
  let end: AgentEvent | undefined;
  for await (const ev of runAgentTurn(convo, { generate, tools: [tool('python')] })) end = ev;
  return end!;
}

describe('runAgentTurn ends', () => {
  test.each([
    ['max-tokens', '<|channel|>analysis to=python code<|message|>print(', 'max-tokens'],
    ['context-full', '<|channel|>final<|message|>long', 'context-full'],
  ] as const)('on %s, even inside a call', async (_name, text, stop) => {
    const r = stop === 'max-tokens' ? replay(text, 'max-tokens') : contextFull(text);
    expect(await last(() => r)).toMatchObject({ type: 'agent-done', stopReason: stop });
  });

  test('with an answer when the generator yields no done event', async () => {
    expect(await last(async function* () {})).toEqual({ type: 'agent-done', messages: [], stopReason: 'answer' });
  });
});

async function* contextFull(text: string): AsyncGenerator<AgentGenerateEvent> {
  for await (const ev of replay(text)) yield ev.type === 'done' ? { ...ev, stopReason: 'context-full' } : ev;
}

describe('defaultToolRouter', () => {
  const tools = [tool('browser'), tool('python'), tool('apply_patch')];
  const route = defaultToolRouter(tools);
  test.each([
    ['browser.search', 'browser'],
    ['browser.open', 'browser'],
    ['python', 'python'],
    ['functions.apply_patch', 'apply_patch'],
    ['functions.save', undefined],
    ['browser', undefined],
  ])('%s → %s', (recipient, name) => {
    expect(route(call(recipient))?.tool.name).toBe(name);
  });
  test('no recipient → undefined', () => {
    expect(route(Message.fromRoleAndContent('assistant', 'hi'))).toBeUndefined();
  });
});
