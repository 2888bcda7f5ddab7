import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Conversation, Message, SystemContent } from '@gptoss/harmony';
import { createCheckpoint } from './checkpoint/create-checkpoint.js';
import { loadModel, type GenerateEvent, type Model } from './model.js';
import { InvalidArgumentError } from './errors.js';
import { ensureDefaultModel, defaultModelPath } from './default-model.js';

let dir: string;
let model: Model;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-model-'));
  await createCheckpoint({ dir: join(dir, 'tiny'), preset: 'tiny', seed: 3 });
  model = await loadModel(join(dir, 'tiny'), { backend: 'reference' });
});
afterAll(async () => {
  await model?.close();
  await rm(dir, { recursive: true, force: true });
});

const convo = (text: string) =>
  Conversation.fromMessages([
    Message.fromRoleAndContent('system', SystemContent.new()),
    Message.fromRoleAndContent('user', text),
  ]);

async function collect(it: AsyncIterable<GenerateEvent>): Promise<GenerateEvent[]> {
  const out: GenerateEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('generate', () => {
  test('streams token events and ends with done, stats and parsed messages', async () => {
    const evs = await collect(model.generate(convo('Hello'), { maxTokens: 12, temperature: 0 }));
    const toks = evs.filter((e) => e.type === 'token');
    const done = evs.at(-1)!;
    expect(done.type).toBe('done');
    if (done.type !== 'done') return;
    expect(done.tokens).toEqual(toks.map((t) => (t as { token: number }).token));
    expect(done.tokens.length).toBeLessThanOrEqual(12);
    expect(done.stopReason === 'max-tokens' || done.stopReason === 'stop-token').toBe(true);
    expect(done.stats.promptTokens).toBe(model.encoding.renderConversationForCompletion(convo('Hello'), 'assistant').length);
    expect(done.stats.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(Array.isArray(done.messages)).toBe(true);
  });

  test('greedy is deterministic, and a repeated prompt reuses the cache', async () => {
    const a = (await collect(model.generate(convo('Same'), { maxTokens: 8, temperature: 0 }))).at(-1)!;
    const b = (await collect(model.generate(convo('Same'), { maxTokens: 8, temperature: 0 }))).at(-1)!;
    if (a.type !== 'done' || b.type !== 'done') throw new Error('no done');
    expect(b.tokens).toEqual(a.tokens);
    expect(b.stats.cachedTokens).toBe(b.stats.promptTokens - 1);
  });

  test('seeded sampling is reproducible', async () => {
    const run = async () => ((await collect(model.generate(convo('Seed'), { maxTokens: 10, seed: 42, topLogprobs: 2 }))).at(-1) as { tokens: number[] }).tokens;
    expect(await run()).toEqual(await run());
  });

  test('stops on a stop token (the token is included)', async () => {
    const first = (await collect(model.generate(convo('Stop'), { maxTokens: 3, temperature: 0 }))).at(-1) as { tokens: number[] };
    const evs = await collect(model.generate(convo('Stop'), { maxTokens: 50, temperature: 0, stopTokens: [first.tokens[1]] }));
    const done = evs.at(-1) as { tokens: number[]; stopReason: string };
    expect(done.stopReason).toBe('stop-token');
    expect(done.tokens).toEqual(first.tokens.slice(0, 2));
  });

  test('AbortSignal stops generation with the signal reason', async () => {
    const ac = new AbortController();
    let n = 0;
    await expect(
      (async () => {
        for await (const e of model.generate(convo('Abort'), { maxTokens: 100, signal: ac.signal })) {
          if (e.type === 'token' && ++n === 3) ac.abort(new Error('user stop'));
        }
      })(),
    ).rejects.toThrow('user stop');
    expect(n).toBe(3);
    // the model is usable afterwards
    const done = (await collect(model.generate(convo('After'), { maxTokens: 2 }))).at(-1)!;
    expect(done.type).toBe('done');
  });

  test('raw completion and full logits agree with generation', async () => {
    const prompt = [200006, 1428, 200008, 13225, 200007, 200006, 173781];
    const logits = await model.logits(prompt);
    expect(logits.length).toBe(prompt.length * model.config.vocabSize);
    const last = logits.subarray((prompt.length - 1) * model.config.vocabSize);
    let arg = 0;
    for (let i = 1; i < last.length; i++) if (last[i] > last[arg]) arg = i;
    const evs = await collect(model.complete(prompt, { maxTokens: 1, temperature: 0 }));
    expect((evs[0] as { token: number }).token).toBe(arg);
  });

  test('bad inputs are rejected with InvalidArgumentError', async () => {
    await expect(model.logits([1, 999999])).rejects.toThrow(InvalidArgumentError);
    await expect(collect(model.complete([1], { maxTokens: -1 }))).rejects.toThrow(/maxTokens/);
  });
});

test('concurrent sessions batch their decode steps and produce the same tokens as one at a time', async () => {
  const prompts = ['one', 'two two', 'three three three'];
  const alone: number[][] = [];
  for (const p of prompts) {
    const s = model.createSession();
    alone.push(((await collect(s.generate(convo(p), { maxTokens: 10, temperature: 0 }))).at(-1) as { tokens: number[] }).tokens);
    await s.close();
  }
  const before = model.decodeBatchSizes.length;
  const sessions = prompts.map(() => model.createSession());
  const together = await Promise.all(
    sessions.map(async (s, i) => ((await collect(s.generate(convo(prompts[i]), { maxTokens: 10, temperature: 0 }))).at(-1) as { tokens: number[] }).tokens),
  );
  expect(together).toEqual(alone);
  expect(Math.max(...model.decodeBatchSizes.slice(before))).toBeGreaterThan(1);
  await Promise.all(sessions.map((s) => s.close()));
  await expect(collect(sessions[0].generate(convo('x')))).rejects.toThrow(/closed/);
});

test('the default model is created once in the cache dir', async () => {
  const env = { XDG_CACHE_HOME: join(dir, 'cache') };
  expect(defaultModelPath(env)).toBe(join(dir, 'cache', 'gptoss', 'models', 'tiny-random-v1'));
  const a = await ensureDefaultModel({ env });
  expect(a.created).toBe(true);
  const b = await ensureDefaultModel({ env });
  expect(b).toEqual({ path: a.path, created: false });
});
