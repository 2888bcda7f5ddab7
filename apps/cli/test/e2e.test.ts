// Drives the real built CLI (node dist/bin.js), as a user would. `turbo test` builds it first; locally run
// `pnpm exec turbo run build --filter=@gptoss/cli...` once.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the CLI first (pnpm exec turbo run build --filter=@gptoss/cli...)`);
  dir = await mkdtemp(join(tmpdir(), 'gptoss-cli-'));
  env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), NO_COLOR: '1' };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, cwd: dir });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

describe('gptoss CLI', () => {
  test('create-model writes both layouts, and logits are identical from each', async () => {
    const a = await cli(['create-model', join(dir, 'orig'), '--preset', 'tiny', '--seed', '5']);
    expect(a.code).toBe(0);
    expect(a.stderr).toMatch(/writing 100%/);
    expect(a.stderr).toMatch(/wrote .*orig \(tiny, original layout, seed 5/);
    const b = await cli(['create-model', join(dir, 'hf'), '--preset', 'tiny', '--seed', '5', '--layout', 'hf']);
    expect(b.code).toBe(0);
    expect(existsSync(join(dir, 'hf', 'model.safetensors.index.json'))).toBe(true);

    const tokens = '200006,1428,200008,13225,200007,200006,173781';
    const la = await cli(['logits', join(dir, 'orig'), '--tokens', tokens, '--out', join(dir, 'a.f32'), '--backend', 'reference']);
    expect(la.code).toBe(0);
    expect(la.stderr).toContain('7 x 201088 float32 LE (reference');
    const lb = await cli(['logits', join(dir, 'hf'), '--tokens', tokens, '--out', join(dir, 'b.f32'), '--backend', 'reference']);
    expect(lb.code).toBe(0);
    expect((await stat(join(dir, 'a.f32'))).size).toBe(7 * 201088 * 4);
    const fa = await readFile(join(dir, 'a.f32'));
    expect(fa.equals(await readFile(join(dir, 'b.f32')))).toBe(true);
    const f = new Float32Array(fa.buffer, fa.byteOffset, fa.length / 4);
    expect(f.every(Number.isFinite)).toBe(true);
    // The default (fastest available) backend agrees with the reference to fp32 accuracy.
    const lc = await cli(['logits', join(dir, 'hf'), '--tokens', tokens, '--out', join(dir, 'c.f32')]);
    expect(lc.code).toBe(0);
    const fc = await readFile(join(dir, 'c.f32'));
    const g = new Float32Array(fc.buffer, fc.byteOffset, fc.length / 4);
    for (let t = 0; t < 7; t++) {
      let num = 0;
      let den = 0;
      for (let i = t * 201088; i < (t + 1) * 201088; i++) {
        num += (g[i] - f[i]) ** 2;
        den += f[i] ** 2;
      }
      expect(Math.sqrt(num / den)).toBeLessThan(1e-3);
    }
  });

  test('generate with no model creates the built-in random model, says so, and streams an answer', async () => {
    const r = await cli(['generate', '-p', 'Hello there', '-n', '24', '--seed', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('weights are RANDOM');
    expect(r.stderr).toContain('huggingface.co/openai/gpt-oss-20b');
    expect(r.stderr).toMatch(/on the (reference|cpu|webgpu) backend/);
    expect(r.stderr).toMatch(/generated \d+ tok at [\d.]+ tok\/s/);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'cache', 'gptoss', 'models', 'tiny-random-v1', 'config.json'))).toBe(true);
  });

  test('start without a terminal runs the one-shot demo and exits 0', async () => {
    const r = await cli(['start']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('demo');
    expect(r.stdout.trim().length).toBeGreaterThan(0);
  });

  test('chat reads turns from a pipe and reuses the cached prefix on the next turn', async () => {
    const r = await cli(['chat', '-n', '6', '--seed', '2', '--reasoning-effort', 'high'], 'first\nsecond\n');
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('[reference]') || l.startsWith('[cpu]') || l.startsWith('[webgpu]'));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/\((?!0 cached)\d+ cached/);
  });

  test('chat with tools (-b -p -a) names them and answers a piped turn', async () => {
    const r = await cli(['chat', '-b', '-p', '-a', '-n', '4', '--seed', '4', '--backend', 'reference'], 'hi\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/tools: browser, python, apply_patch \(apply_patch edits files under .*gptoss-cli-/);
    expect(r.stderr).toMatch(/^\[reference\] prompt \d+ tok/m);
  });

  test('chat --raw prints the harmony text of the conversation and of each completion; piped input keeps no history', async () => {
    const home = join(dir, 'raw-home');
    const r = await cli(['chat', '--raw', '-n', '4', '--seed', '4', '--backend', 'reference'], 'hi\nagain\n', { HOME: home, XDG_STATE_HOME: '' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<\|start\|>system<\|message\|>You are ChatGPT, a large language model trained by OpenAI\.\n/);
    expect(r.stdout).toContain('# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|><|start|>user<|message|>hi<|end|><|start|>assistant');
    expect(r.stdout).toContain('<|start|>user<|message|>again<|end|><|start|>assistant');
    expect(r.stdout).not.toMatch(/thinking:|\[reference\]/);
    expect(r.stderr.match(/^\[reference\] prompt \d+ tok/gm)).toHaveLength(2);
    expect(existsSync(join(home, '.gptoss', 'chat_history'))).toBe(false);
  });

  test('errors: bad arguments exit 2, a bad checkpoint exits 1 with an actionable message', async () => {
    const bad = await cli(['logits', join(dir, 'orig'), '--tokens', '1,x', '--out', join(dir, 'x.f32')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"x" is not a token id');
    const missing = await cli(['logits', join(dir, 'nope'), '--tokens', '1', '--out', join(dir, 'x.f32')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/is not a valid gpt-oss checkpoint[\s\S]*does not exist/);
    const range = await cli(['logits', join(dir, 'orig'), '--tokens', '1,300000', '--out', join(dir, 'x.f32')]);
    expect(range.code).toBe(1);
    expect(range.stderr).toContain('outside this model');
    const backend = await cli(['generate', '-p', 'x', '--backend', 'tpu']);
    expect(backend.code).toBe(2);
  });

  test('info validates a checkpoint and prints its config', async () => {
    const r = await cli(['info', join(dir, 'hf'), '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({ layout: 'hf', tensors: 1 + 2 * 15 + 2, config: { numHiddenLayers: 2, numExperts: 8, vocabSize: 201088 } });
    const plain = await cli(['info', join(dir, 'orig')]);
    expect(plain.stdout).toMatch(/valid gpt-oss checkpoint, original layout, 33 tensors/);
  });

  test('backends lists all three with reasons', async () => {
    const r = await cli(['backends']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^webgpu\s+/m);
    expect(r.stdout).toMatch(/^cpu\s+/m);
    expect(r.stdout).toMatch(/^reference\s+available/m);
  });

  const hasTmux = spawnSync('tmux', ['-V']).status === 0;
  test.skipIf(!hasTmux)('interactive chat in a terminal (tmux): streams, shows stats, quits on /exit', async () => {
    const session = `gptoss-e2e-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync('tmux', a, { env, encoding: 'utf8' });
    const home = join(dir, 'tty-home');
    const cmd = `env -u XDG_STATE_HOME HOME=${home} XDG_CACHE_HOME=${env.XDG_CACHE_HOME} NO_COLOR=1 ${process.execPath} ${bin} chat -n 8 --seed 3; echo EXITED=$?; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', cmd);
    const screen = () => tmux('capture-pane', '-p', '-t', session, '-S', '-200');
    const waitFor = async (re: RegExp, ms = 30_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const s = screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${re}; screen:\n${screen()}`);
    };
    try {
      await waitFor(/Type a message/);
      await waitFor(/^>/m); // capture-pane trims the space after the prompt
      tmux('send-keys', '-t', session, 'Hello model', 'Enter');
      await waitFor(/generated \d+ tok at/);
      tmux('send-keys', '-t', session, '/exit', 'Enter');
      const s = await waitFor(/EXITED=\d+/);
      expect(s).toContain('EXITED=0');
      // Input history is kept in ~/.gptoss/chat_history, one line per entry, oldest first.
      expect(await readFile(join(home, '.gptoss', 'chat_history'), 'utf8')).toBe('Hello model\n/exit\n');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });

  test.skipIf(!hasTmux)('chat history: Up recalls the last session\'s input from $XDG_STATE_HOME/gptoss, bounded to 1000 lines', async () => {
    const session = `gptoss-e2e-hist-${process.pid}`;
    const tmux = (...a: string[]) => execFileSync('tmux', a, { env, encoding: 'utf8' });
    const state = join(dir, 'state');
    const file = join(state, 'gptoss', 'chat_history');
    await mkdir(dirname(file), { recursive: true });
    const old = Array.from({ length: 1005 }, (_, i) => `old ${i}`);
    await writeFile(file, `${[...old, 'earlier question'].join('\n')}\n`);
    const cmd = `XDG_STATE_HOME=${state} XDG_CACHE_HOME=${env.XDG_CACHE_HOME} NO_COLOR=1 ${process.execPath} ${bin} chat --raw -n 4 --seed 3; echo EXITED=$?; sleep 30`;
    tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '50', cmd);
    const screen = () => tmux('capture-pane', '-p', '-t', session, '-S', '-200');
    const waitFor = async (re: RegExp, ms = 30_000) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        const s = screen();
        if (re.test(s)) return s;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${re}; screen:\n${screen()}`);
    };
    try {
      // --raw: the prompt is the user message's start, so the typed text lands inside it.
      await waitFor(/<\|start\|>user<\|message\|>$/m);
      tmux('send-keys', '-t', session, 'Up');
      await waitFor(/<\|start\|>user<\|message\|>earlier question$/m);
      tmux('send-keys', '-t', session, ' again', 'Enter');
      await waitFor(/generated \d+ tok at/);
      tmux('send-keys', '-t', session, '/exit', 'Enter');
      expect(await waitFor(/EXITED=\d+/)).toContain('EXITED=0');
      const lines = (await readFile(file, 'utf8')).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(1000);
      expect(lines.slice(-3)).toEqual(['earlier question', 'earlier question again', '/exit']);
      expect(lines[0]).toBe('old 8');
    } finally {
      spawnSync('tmux', ['kill-session', '-t', session]);
    }
  });
});
