// `gptoss serve` as a user runs it: the built CLI in a child process, the embedded tiny model, the official
// openai client, then SIGTERM. Needs the CLI and its deps built (pnpm exec turbo run build --filter=@gptoss/cli...).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: build the CLI first (pnpm exec turbo run build --filter=@gptoss/cli...)`);
  dir = await mkdtemp(join(tmpdir(), 'gptoss-serve-'));
});
afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

function serve(args: string[]): Promise<{ url: string; p: ChildProcess; stderr: () => string }> {
  const p = spawn(process.execPath, [bin, 'serve', ...args], { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache'), NO_COLOR: '1' }, cwd: dir });
  child = p;
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in time; stderr:\n${stderr}`)), 60_000);
    p.stderr!.on('data', (d) => {
      stderr += d;
      const m = /serving .* on (http:\/\/\S+)\/v1/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1]!, p, stderr: () => stderr });
      }
    });
    p.on('exit', (code) => reject(new Error(`serve exited early (${code}); stderr:\n${stderr}`)));
  });
}

describe('gptoss serve', () => {
  test('serves the built-in model to the openai client and exits cleanly on SIGTERM', async () => {
    const { url, p, stderr } = await serve(['--port', '0', '--model-id', 'tiny-test', '--backend', 'reference']);
    expect(stderr()).toContain('weights are RANDOM');
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['tiny-test']);
    const r = await client.responses.create({ model: 'tiny-test', input: 'Hello!', max_output_tokens: 6 });
    expect(r.object).toBe('response');
    expect(r.usage!.total_tokens).toBe(r.usage!.input_tokens + r.usage!.output_tokens);
    const c = await client.chat.completions.create({ model: 'tiny-test', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 });
    expect(c.choices[0]!.message.role).toBe('assistant');

    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => p.on('exit', (code, signal) => res({ code, signal })));
    p.kill('SIGTERM');
    expect(await exit).toEqual({ code: 0, signal: null });
    expect(stderr()).toContain('SIGTERM: closing the server');
    expect(stderr()).toContain('server closed');
  });

  test('SIGINT (Ctrl-C) closes it too, and the port is free again', async () => {
    const { url, p } = await serve(['--port', '0', '--backend', 'reference']);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const exit = new Promise<number | null>((res) => p.on('exit', res));
    p.kill('SIGINT');
    expect(await exit).toBe(0);
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });

  test('a port out of range is a usage error (exit 2)', async () => {
    const p = spawn(process.execPath, [bin, 'serve', '--port', '70000'], { env: { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') } });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((res) => p.on('exit', res));
    expect(code).toBe(2);
    expect(stderr).toContain('--port');
  });
});
