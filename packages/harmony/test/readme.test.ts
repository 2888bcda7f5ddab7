// Runs every ```ts block of README.md as written (the package import is pointed at src/), so the README's
// examples cannot rot.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const src = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
const dir = mkdtempSync(join(tmpdir(), 'harmony-readme-'));
// The untagged block that shows the rendered tool definitions.
const toolsText = /```\n(# Tools[\s\S]*?)```/.exec(readme)?.[1];

describe('README.md examples', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((code, i) => [i, code] as const))('block %i runs', async (i, code) => {
    const file = join(dir, `block-${i}.ts`);
    writeFileSync(file, code.replaceAll("from '@gptoss/harmony'", `from ${JSON.stringify(src)}`));
    const logged: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(' ')));
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    expect(logged.length).toBeGreaterThan(0);
    if (i === 0) expect(logged[0]).toContain(toolsText!.trimEnd());
    if (i === 1) expect(logged.at(-1)).toBe("functions.get_weather <|constrain|>json [object Object]");
    if (i === 2) expect(logged).toEqual(['It is 21 °C and sunny in Tokyo.', expect.stringContaining('<|start|>functions.get_weather to=assistant')]);
  });
});
