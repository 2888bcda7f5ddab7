// The README's opening example, run as written (output collected instead of printed).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { Conversation, Message, SystemContent } from '@gptoss/harmony';
import { createCheckpoint, loadModel } from '../src/index.js';

test('README example', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gptoss-readme-'));
  const out: unknown[] = [];
  try {
    await createCheckpoint({ dir: join(dir, 'tiny'), preset: 'tiny', seed: 1 });
    const model = await loadModel(join(dir, 'tiny'), { backend: 'reference' });
    const convo = Conversation.fromMessages([
      Message.fromRoleAndContent('system', SystemContent.new().withReasoningEffort('low')),
      Message.fromRoleAndContent('user', 'What is 2 + 2?'),
    ]);
    for await (const ev of model.generate(convo, { maxTokens: 16, temperature: 1.0 })) {
      if (ev.type === 'content-delta') out.push(ev.delta);
      if (ev.type === 'done') out.push(ev.stats.decodeTokensPerSecond, ev.messages);
    }
    await model.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  expect(out.length).toBeGreaterThanOrEqual(2);
});
