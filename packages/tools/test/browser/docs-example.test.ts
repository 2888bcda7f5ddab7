// The example at the top of docs/browser.md, run against the fixture docs folder.
import { fileURLToPath } from 'node:url';
import { Message } from '@gptoss/harmony';
import { expect, test } from 'vitest';
import { BrowserTool, LocalBackend } from '../../src/browser/index.js';

test('docs/browser.md example', async () => {
  const root = fileURLToPath(new URL('../fixtures/browser/docs/', import.meta.url));
  const browser = new BrowserTool({ backend: new LocalBackend({ root }) });
  const call = Message.fromRoleAndContent('assistant', JSON.stringify({ query: 'install' }))
    .withChannel('analysis')
    .withRecipient('browser.search');
  const printed: string[] = [];
  for await (const reply of browser.process(call)) printed.push(`${reply.author.name} ${reply.channel} ${reply.text}`);
  expect(printed).toHaveLength(1);
  expect(printed[0].split('\n').slice(0, 5)).toEqual([
    'browser.search analysis [0] install',
    '**viewing lines [0 - 6] of 6**',
    '',
    'L0: ',
    'L1: URL: ',
  ]);
  expect(printed[0]).toContain('L4:   * 【0†Installing Lumen†local】 Installing Lumen Lumen is a small static-site ');
});
