import { readFileSync } from 'node:fs';
import { Message } from '@gptoss/harmony';
import { expect } from 'vitest';
import { searchResultsPage } from '../../src/browser/backend.js';
import type { BrowserBackend } from '../../src/browser/backend.js';
import type { BrowserTool } from '../../src/browser/browser-tool.js';
import { processHtml } from '../../src/browser/process-html.js';
import type { PageContents } from '../../src/browser/page-contents.js';

export function fixtureHtml(name: string): string {
  return readFileSync(new URL(`../fixtures/browser/pages/${name}`, import.meta.url), 'utf8');
}

/** The four saved pages and the URLs they are served under. */
export const PAGES = {
  news: { file: 'news-article.html', url: 'https://www.harborgazette.example/local/2024/03/solar-project' },
  docs: { file: 'docs-page.html', url: 'https://nodekit.dev/docs/streams.html' },
  table: { file: 'table-page.html', url: 'https://encyclopedia.example/wiki/List_of_largest_lakes_of_Europe' },
  japanese: { file: 'japanese-page.html', url: 'https://tabi-techo.example.jp/kansai/kyoto/koyo/' },
} as const;

/** A backend over the saved pages: search lists them all, fetch renders them; other URLs fail. */
export class FixtureBackend implements BrowserBackend {
  readonly source = 'web';
  fetches: string[] = [];

  async search(query: string): Promise<PageContents> {
    return searchResultsPage(
      query,
      Object.values(PAGES).map((p) => ({
        title: /<title>([^<]*)<\/title>/.exec(fixtureHtml(p.file))?.[1] ?? p.url,
        url: p.url,
        summary: `Saved copy of ${p.file}.`,
      })),
    );
  }

  async fetch(url: string): Promise<PageContents> {
    this.fetches.push(url);
    const page = Object.values(PAGES).find((p) => p.url === url);
    if (!page) throw new Error(`404 for ${url}`);
    return processHtml(fixtureHtml(page.file), url, { displayUrls: true });
  }
}

/** A browser call as the model writes it. */
export function browserCall(fn: string, args: unknown, channel: string | null = 'analysis'): Message {
  const text = typeof args === 'string' ? args : JSON.stringify(args);
  const m = Message.fromRoleAndContent('assistant', text).withRecipient(`browser.${fn}`);
  return channel === null ? m : m.withChannel(channel);
}

/** Runs one call and returns its single reply's text, checking the SPEC §5.1 reply shape. */
export async function call(tool: BrowserTool, fn: string, args: unknown, channel = 'analysis'): Promise<string> {
  const replies: Message[] = [];
  for await (const r of tool.process(browserCall(fn, args, channel))) replies.push(r);
  expect(replies).toHaveLength(1);
  const [reply] = replies;
  expect(reply.author.role).toBe('tool');
  expect(reply.recipient).toBe('assistant');
  expect(reply.channel).toBe(channel);
  expect(reply.content).toHaveLength(1);
  return reply.text;
}

/** Same as {@link call} but also returns the author name. */
export async function callWithAuthor(tool: BrowserTool, fn: string, args: unknown): Promise<{ author: string; text: string }> {
  const replies: Message[] = [];
  for await (const r of tool.process(browserCall(fn, args))) replies.push(r);
  expect(replies).toHaveLength(1);
  return { author: replies[0].author.name ?? '', text: replies[0].text };
}
