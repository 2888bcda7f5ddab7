import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { HISTORY_SIZE, historyPath, loadHistory, saveHistory } from './history.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gptoss-history-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('chat history', () => {
  test.each([
    [{}, '/home/u/.gptoss/chat_history'],
    [{ XDG_STATE_HOME: '/state' }, '/state/gptoss/chat_history'],
    [{ XDG_STATE_HOME: 'relative/state' }, '/home/u/.gptoss/chat_history'],
    [{ XDG_STATE_HOME: '' }, '/home/u/.gptoss/chat_history'],
  ])('path with %o is %s', (env, expected) => {
    expect(historyPath(env, '/home/u')).toBe(expected);
  });

  test('a missing file is an empty history', () => {
    expect(loadHistory(join(dir, 'nope', 'chat_history'))).toEqual([]);
  });

  test('save writes oldest first, creates the folder, owner-only; load gives readline order back', async () => {
    const path = join(dir, 'a', 'b', 'chat_history');
    saveHistory(path, ['newest', 'multi\nline', 'oldest']);
    expect(await readFile(path, 'utf8')).toBe('oldest\nmulti line\nnewest\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(loadHistory(path)).toEqual(['newest', 'multi line', 'oldest']);
  });

  test(`bounded to ${HISTORY_SIZE} lines on load and on save`, async () => {
    const path = join(dir, 'long');
    const lines = Array.from({ length: HISTORY_SIZE + 5 }, (_, i) => `line ${i}`);
    await writeFile(path, `${lines.join('\n')}\n`);
    const loaded = loadHistory(path);
    expect(loaded).toHaveLength(HISTORY_SIZE);
    expect(loaded[0]).toBe(`line ${HISTORY_SIZE + 4}`);
    expect(loaded.at(-1)).toBe('line 5');
    saveHistory(path, ['extra', ...loaded]);
    const saved = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(saved).toHaveLength(HISTORY_SIZE);
    expect(saved[0]).toBe('line 6');
    expect(saved.at(-1)).toBe('extra');
  });
});
