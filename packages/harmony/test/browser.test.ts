// Loads the esbuild bundle of the package (tokenizer and ranks included) in a real headless Chromium page,
// renders and parses a conversation there, and compares with Node. CI installs /usr/bin/chromium; the test is
// skipped only where it is missing.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
import { bundleHarmony } from '../scripts/bundle.mjs';
import { Conversation, DeveloperContent, loadHarmonyEncoding, Message, SystemContent } from '../src/index.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser.test.ts skipped: ${CHROMIUM} not found (CI installs it; apt-get install chromium)`);

// Runs in the page as a plain module script (kept as text so that the test runner's transforms never touch it).
const PAGE_SCRIPT = String.raw`
import * as h from '/harmony.js';
try {
  const weather = {
    name: 'get_weather',
    description: 'Gets the weather.',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'], default: 'c' } }, required: ['city'] },
  };
  const convo = h.Conversation.fromMessages([
    h.Message.fromRoleAndContent('system', h.SystemContent.new().withConversationStartDate('2025-06-28').withBrowserTool()),
    h.Message.fromRoleAndContent('developer', h.DeveloperContent.new().withInstructions('Be brief. 简短回答 🙂').withFunctionTools([weather])),
    h.Message.fromRoleAndContent('user', 'Weather in Zürich?'),
    h.Message.fromRoleAndContent('assistant', '{"city":"Zürich"}').withChannel('commentary').withRecipient('functions.get_weather').withContentType('<|constrain|>json'),
  ]);
  const enc = h.loadHarmonyEncoding();
  const tokens = enc.renderConversationForCompletion(convo, 'assistant');
  const completion = enc.encode('<|channel|>final<|message|>Sunny, 20°C ☀️<|return|>', { allowedSpecial: 'all' });
  const parsed = enc.parseMessagesFromCompletionTokens(completion, 'assistant').map((m) => m.toJSON());
  const parser = new h.StreamableParser(enc, 'assistant');
  const deltas = [];
  for (const t of completion) for (const e of parser.push(t)) if (e.type === 'content-delta') deltas.push(e.delta);
  window.__result = { tokens, text: enc.decodeUtf8(tokens), parsed, deltas, ua: navigator.userAgent };
} catch (e) {
  window.__result = { error: String(e && e.stack || e) };
}
`;

function nodeConversation(): Conversation {
  const weather = {
    name: 'get_weather',
    description: 'Gets the weather.',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'], default: 'c' } }, required: ['city'] },
  };
  return Conversation.fromMessages([
    Message.fromRoleAndContent('system', SystemContent.new().withConversationStartDate('2025-06-28').withBrowserTool()),
    Message.fromRoleAndContent('developer', DeveloperContent.new().withInstructions('Be brief. 简短回答 🙂').withFunctionTools([weather])),
    Message.fromRoleAndContent('user', 'Weather in Zürich?'),
    Message.fromRoleAndContent('assistant', '{"city":"Zürich"}').withChannel('commentary').withRecipient('functions.get_weather').withContentType('<|constrain|>json'),
  ]);
}

describe.skipIf(!hasChromium)('headless Chromium', () => {
  let server: Server;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    const bundle: Uint8Array = await bundleHarmony({ withRanks: true, minify: true });
    server = createServer((req, res) => {
      if (req.url === '/harmony.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(bundle);
      } else {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(`<!doctype html><meta charset="utf-8"><title>harmony</title><script type="module">${PAGE_SCRIPT}</script>`);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('renders and parses a conversation exactly like Node', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, undefined, { timeout: 60_000 });
    const inPage = (await page.evaluate(() => (globalThis as { __result?: unknown }).__result)) as {
      error?: string;
      tokens: number[];
      text: string;
      parsed: unknown;
      deltas: string[];
      ua: string;
    };
    expect(inPage.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(inPage.ua).toMatch(/HeadlessChrome|Chrome/);
    const enc = loadHarmonyEncoding();
    const nodeTokens = enc.renderConversationForCompletion(nodeConversation(), 'assistant');
    expect(inPage.tokens).toEqual(nodeTokens);
    expect(inPage.text).toBe(enc.decodeUtf8(nodeTokens));
    expect(inPage.text).toContain("Calls to these tools must go to the commentary channel: 'functions'.");
    expect(inPage.parsed).toEqual([{ role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'Sunny, 20°C ☀️' }] }]);
    expect(inPage.deltas.join('')).toBe('Sunny, 20°C ☀️');
    await page.close();
  });
});
