import { Conversation, Message, SystemContent } from '@gptoss/harmony';
import type { GenerateEvent, Model } from '@gptoss/runtime';
import { runAgentTurn, type AgentEvent, type AgentGenerateEvent, type GenerateFn } from '@gptoss/tools';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { replay } from './replay.js';

// @gptoss/tools describes the events its loop consumes without depending on the runtime; this is where the two meet.
// The type assertions are checked by `tsc --noEmit` (this file is in the project); the test runs the loop on the
// runtime's exact event type.

describe('runAgentTurn consumes the runtime generation events', () => {
  test('GenerateEvent is assignable to AgentGenerateEvent, and Model.generate is a GenerateFn', () => {
    expectTypeOf<GenerateEvent>().toExtend<AgentGenerateEvent>();
    expectTypeOf<Extract<GenerateEvent, { type: 'done' }>>().toExtend<Extract<AgentGenerateEvent, { type: 'done' }>>();
    expectTypeOf<(c: Conversation) => ReturnType<Model['generate']>>().toExtend<GenerateFn<GenerateEvent>>();
    // The loop keeps the generator's precise event type (token logprobs, full stats) in what it yields.
    expectTypeOf(runAgentTurn<GenerateEvent>).returns.toEqualTypeOf<AsyncGenerator<AgentEvent<GenerateEvent>>>();
    expectTypeOf((model: Model, c: Conversation) => runAgentTurn(c, { generate: (x) => model.generate(x), tools: [] }))
      .returns.toEqualTypeOf<AsyncGenerator<AgentEvent<GenerateEvent>>>();
  });

  test('a runtime-typed generator runs through the loop unchanged', async () => {
    const generate = (_c: Conversation): AsyncIterable<GenerateEvent> => replay('<|channel|>final<|message|>Hi.<|return|>');
    const conversation = Conversation.fromMessages([Message.fromRoleAndContent('system', SystemContent.new()), Message.fromRoleAndContent('user', 'hello')]);
    const events: AgentEvent<GenerateEvent>[] = [];
    for await (const ev of runAgentTurn(conversation, { generate, tools: [] })) events.push(ev);
    const done = events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.stats.completionTokens).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'agent-done', stopReason: 'answer' });
  });
});
