// BrowserTool semantics (SPEC §5.1/§5.2): dispatch, page stack and cursors, cache, error texts, channel rule, state.
import { loadHarmonyEncoding, Message, SystemContent } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import type { BrowserBackend } from '../../src/browser/backend.js';
import { browserBackendFromEnv } from '../../src/browser/backend-from-env.js';
import { browserDescription, BrowserTool } from '../../src/browser/browser-tool.js';
import type { PageContents } from '../../src/browser/page-contents.js';
import { browserCall, call, callWithAuthor, FixtureBackend, PAGES } from './helpers.js';

const newTool = (backend: BrowserBackend = new FixtureBackend()) => new BrowserTool({ backend });

describe('search', () => {
  test('shows the results page from line 0 as cursor 0, titled by the query, without a URL', async () => {
    const tool = newTool();
    expect(await call(tool, 'search', { query: 'kyoto autumn', topn: 3 })).toMatchInlineSnapshot(`
      "[0] kyoto autumn
      **viewing lines [0 - 11] of 11**

      L0: 
      L1: URL: 
      L2: # Search Results
      L3: 
      L4:   * 【0†City council approves riverside solar project | The Harbor 
      L5: Gazette†www.harborgazette.example】 Saved copy of news-article.html.
      L6:   * 【1†Streams — Reading files line by line | nodekit docs†nodekit.dev】 Saved 
      L7: copy of docs-page.html.
      L8:   * 【2†List of largest lakes of Europe - Encyclopedia†encyclopedia.example】 
      L9: Saved copy of table-page.html.
      L10:   * 【3†京都の紅葉名所ガイド〖2024年版〗｜旅の手帖†tabi-techo.example.jp】 Saved copy of japanese-
      L11: page.html."
    `);
  });

  test('asks the backend for maxSearchResults, whatever topn says', async () => {
    const seen: number[] = [];
    const backend = new FixtureBackend();
    const spy: BrowserBackend = {
      source: 'web',
      search: (q, n) => {
        seen.push(n);
        return backend.search(q);
      },
      fetch: (u) => backend.fetch(u),
    };
    await call(new BrowserTool({ backend: spy, maxSearchResults: 7 }), 'search', { query: 'x', topn: 3, top_n: 2 });
    expect(seen).toEqual([7]);
  });

  test('backend failures become "Error during search for `…`: …" from browser.search', async () => {
    const failing: BrowserBackend = {
      source: 'web',
      search: async () => {
        throw new Error('YouComBackend error 429: rate limited');
      },
      fetch: async () => {
        throw 'not an Error';
      },
    };
    const tool = newTool(failing);
    expect(await callWithAuthor(tool, 'search', { query: 'q' })).toEqual({
      author: 'browser.search',
      text: 'Error during search for `q`: YouComBackend error 429: rate limited',
    });
    expect(await call(tool, 'open', { id: 'https://a.example/' })).toBe(
      'Error fetching URL `https://a.example/`: not an Error',
    );
  });
});

describe('open', () => {
  test('follows a link id of the current page; reuses the cached page; a URL string refetches', async () => {
    const backend = new FixtureBackend();
    const tool = newTool(backend);
    await call(tool, 'search', { query: 'lakes' });
    const opened = await call(tool, 'open', { id: 2, num_lines: 3 });
    expect(opened).toMatchInlineSnapshot(`
      "[1] List of largest lakes of Europe - Encyclopedia (https://encyclopedia.example/wiki/List_of_largest_lakes_of_Europe)
      **viewing lines [0 - 2] of 44**

      L0: 
      L1: URL: https://encyclopedia.example/wiki/List_of_largest_lakes_of_Europe
      L2: # List of largest lakes of Europe"
    `);
    await call(tool, 'open', { id: 2, cursor: 0, num_lines: 1 });
    expect(backend.fetches).toHaveLength(1);
    await call(tool, 'open', { id: PAGES.table.url, num_lines: 1 });
    expect(backend.fetches).toHaveLength(2);
    expect(tool.pageStack).toEqual(['', PAGES.table.url, PAGES.table.url, PAGES.table.url]);
  });

  test('scrolling (no id) pushes the page again, so the cursor grows', async () => {
    const tool = newTool();
    await call(tool, 'open', { id: PAGES.docs.url, num_lines: 2 });
    const out = await call(tool, 'open', { loc: 30, num_lines: 2 });
    expect(out.split('\n').slice(0, 2)).toEqual([
      '[1] Streams — Reading files line by line | nodekit docs (https://nodekit.dev/docs/streams.html)',
      '**viewing lines [30 - 31] of 72**',
    ]);
    expect(await call(tool, 'open', { cursor: 0, loc: 72 })).toContain('**viewing lines [72 - 72] of 72**');
  });

  test.each([
    [{ id: 99 }, 'Invalid link id `99`.'],
    [{ id: 1.5 }, 'Invalid link id `1.5`.'],
    [{ cursor: 7 }, 'Cursor `7` is out of range. Available cursor indices: [0 - 0].'],
    [{ cursor: -5 }, 'Cursor `-5` is out of range. Available cursor indices: [0 - 0].'],
    [{ cursor: '0' }, '`cursor` should be an integer, not `str`'],
    [{ cursor: null }, '`cursor` should be an integer, not `NoneType`'],
    [{ loc: 500 }, 'Invalid location parameter: `500`. Cannot exceed page maximum of 11.'],
  ])('usage error %j → %s (and the failed view is not pushed)', async (args, message) => {
    const tool = newTool();
    await call(tool, 'search', { query: 'q' });
    expect(await callWithAuthor(tool, 'open', args)).toEqual({ author: 'browser.open', text: message });
    expect(tool.pageStack).toHaveLength(1);
  });

  test('nothing opened yet', async () => {
    expect(await call(newTool(), 'open', {})).toBe('No pages to access!');
    expect(await call(newTool(), 'find', { pattern: 'x' })).toBe('No pages to access!');
  });

  test('loc defaults to 4 lines above a find match', async () => {
    const tool = newTool();
    await call(tool, 'open', { id: PAGES.docs.url, num_lines: 1 });
    expect(await call(tool, 'find', { pattern: 'abortsignal' })).toMatchInlineSnapshot(`
      "[1] Find results for text: \`abortsignal\` in \`Streams — Reading files line by line | nodekit docs\` (https://nodekit.dev/docs/streams.html/find?pattern=abortsignal)
      **viewing lines [0 - 4] of 4**

      L0: # 【0†match at L42】
      L1:     An \`AbortSignal\` that stops reading and closes the file.
      L2: 
      L3: ## Handling Windows line endings
      L4: "
    `);
    expect(await call(tool, 'open', { id: 0, num_lines: 5 })).toMatchInlineSnapshot(`
      "[2] Streams — Reading files line by line | nodekit docs (https://nodekit.dev/docs/streams.html)
      **viewing lines [38 - 42] of 72**

      L38:     Text encoding of the file. Defaults to \`'utf8'\`.
      L39: \`highWaterMark\`
      L40:     Bytes read per chunk. Defaults to 64 KiB.
      L41: \`signal\`
      L42:     An \`AbortSignal\` that stops reading and closes the file."
    `);
  });
});

describe('find', () => {
  test('not on a find results page', async () => {
    const tool = newTool();
    await call(tool, 'open', { id: PAGES.news.url, num_lines: 1 });
    await call(tool, 'find', { pattern: 'solar' });
    expect(await call(tool, 'find', { pattern: 'solar' })).toBe(
      'Cannot run `find` on search results page or find results page',
    );
    // …but on an earlier page, by cursor.
    expect(await call(tool, 'find', { pattern: 'solar', cursor: 0 })).toContain('[2] Find results for text: `solar`');
  });

  test('no match', async () => {
    const tool = newTool();
    await call(tool, 'open', { id: PAGES.news.url, num_lines: 1 });
    expect(await call(tool, 'find', { pattern: 'Zeppelin' })).toMatchInlineSnapshot(`
      "[1] Find results for text: \`zeppelin\` in \`City council approves riverside solar project | The Harbor Gazette\` (https://www.harborgazette.example/local/2024/03/solar-project/find?pattern=zeppelin)
      **viewing lines [0 - 0] of 0**

      L0: No \`find\` results for pattern: \`zeppelin\`"
    `);
  });

  test('stops after 50 matches, each chunk 4 lines', async () => {
    const many: BrowserBackend = {
      source: 'web',
      search: async () => {
        throw new Error('unused');
      },
      fetch: async (url): Promise<PageContents> => ({
        url,
        title: 'many',
        text: Array.from({ length: 300 }, (_, i) => `row ${i} needle`).join('\n'),
        urls: {},
      }),
    };
    const tool = newTool(many);
    await call(tool, 'open', { id: 'https://many.example/', num_lines: 1 });
    await call(tool, 'find', { pattern: 'needle' });
    const state = tool.getState();
    const found = state.pages[state.page_stack[1]];
    expect(Object.keys(found.urls)).toHaveLength(50);
    expect(found.snippets?.['49']).toMatchObject({ line_idx: 196, text: 'row 196 needle\nrow 197 needle\nrow 198 needle\nrow 199 needle' });
    expect(found.text).toContain('# 【1†match at L4】\nrow 4 needle\nrow 5 needle\nrow 6 needle\nrow 7 needle\n\n# 【2†');
  });
});

describe('dispatch', () => {
  const raw = async (tool: BrowserTool, m: Message) => {
    const out: Message[] = [];
    for await (const r of tool.process(m)) out.push(r);
    return out.map((r) => ({ author: r.author.name, text: r.text, channel: r.channel }));
  };

  test.each([
    ['search', 'not json', 'browser.search', '{"error": "Invalid function arguments"}'],
    ['search', '[1,2]', 'browser.search', '{"error": "Invalid function arguments"}'],
    ['click', '{"id": 1}', 'browser.click', '{"error": "Unknown function: click"}'],
    ['search', '', 'browser.search', '{"error": "search() missing 1 required argument: \'query\'"}'],
    ['open', '{"url": "https://x"}', 'browser.open', '{"error": "open() got an unexpected keyword argument \'url\'"}'],
    ['open', '{"loc": "3"}', 'browser.open', '{"error": "open() argument \'loc\' must be an integer, not \'str\'"}'],
    ['open', '{"id": null, "cursor": 0}', 'browser.open', '{"error": "open() argument \'id\' must be a link id or a URL string, not \'NoneType\'"}'],
  ])('browser.%s with %j → %s %s', async (fn, text, author, reply) => {
    const tool = newTool();
    await call(tool, 'search', { query: 'q' });
    expect(await raw(tool, browserCall(fn, text))).toEqual([{ author, text: reply, channel: 'analysis' }]);
  });

  test('a recipient outside browser.* is refused, not crashed on', async () => {
    const m = Message.fromRoleAndContent('assistant', '{}').withRecipient('python').withChannel('analysis');
    expect(await raw(newTool(), m)).toEqual([
      { author: 'python', text: '{"error": "Invalid function arguments"}', channel: 'analysis' },
    ]);
  });

  test('replies take the caller channel (commentary, or none)', async () => {
    const tool = newTool();
    const [reply] = await raw(tool, browserCall('open', { id: PAGES.news.url, num_lines: 1 }, 'commentary'));
    expect(reply.channel).toBe('commentary');
    const [bare] = await raw(tool, browserCall('open', { num_lines: 1 }, null));
    expect(bare.channel).toBeUndefined();
  });

  test('an unexpected crash in a backend is still a reply', async () => {
    const tool = newTool({
      source: 'web',
      search: async () => ({}) as PageContents, // malformed page: no text
      fetch: async () => ({}) as PageContents,
    });
    const [reply] = await raw(tool, browserCall('search', { query: 'q' }));
    expect(reply.author).toBe('browser.search');
    expect(reply.text).toMatch(/^\[ERROR\] TypeError: /);
  });
});

describe('configuration and state', () => {
  test('tool config: harmony browser namespace with sources= from the backend', () => {
    const docs: BrowserBackend = { source: 'docs', search: (q) => new FixtureBackend().search(q), fetch: (u) => new FixtureBackend().fetch(u) };
    const config = new BrowserTool({ backend: docs }).toolConfig();
    expect(config.name).toBe('browser');
    expect(config.description).toBe(browserDescription('docs'));
    expect(config.description).toMatchInlineSnapshot(`
      "Tool for browsing.
      The \`cursor\` appears in brackets before each browsing display: \`[{cursor}]\`.
      Cite information from the tool using the following format:
      \`【{cursor}†L{line_start}(-L{line_end})?】\`, for example: \`【6†L9-L11】\` or \`【8†L3】\`.
      Do not quote more than 10 words directly from the tool output.
      sources=docs"
    `);
    expect(config.tools.map((t) => t.name)).toEqual(['search', 'open', 'find']);
  });

  test('rendered in the system message: SPEC §4.7 text with the sources= line of the backend', () => {
    const enc = loadHarmonyEncoding();
    const system = Message.fromRoleAndContent('system', SystemContent.new().withTools(newTool().toolConfig()));
    const text = enc.decodeUtf8(enc.render(system));
    const start = text.indexOf('## browser');
    expect(text.slice(start, text.indexOf('namespace browser {'))).toMatchInlineSnapshot(`
      "## browser

      // Tool for browsing.
      // The \`cursor\` appears in brackets before each browsing display: \`[{cursor}]\`.
      // Cite information from the tool using the following format:
      // \`【{cursor}†L{line_start}(-L{line_end})?】\`, for example: \`【6†L9-L11】\` or \`【8†L3】\`.
      // Do not quote more than 10 words directly from the tool output.
      // sources=web
      "
    `);
  });

  test('state round-trips through JSON (reference key names) and the next cursor continues', async () => {
    const tool = newTool();
    await call(tool, 'open', { id: PAGES.docs.url, num_lines: 1 });
    await call(tool, 'find', { pattern: 'stream' });
    const json = JSON.parse(JSON.stringify(tool.getState()));
    expect(Object.keys(json)).toEqual(['pages', 'page_stack']);
    expect(json.pages[json.page_stack[1]].snippets['0'].line_idx).toBeTypeOf('number');
    const resumed = new BrowserTool({ backend: new FixtureBackend(), state: json });
    expect(await call(resumed, 'open', { id: 0, num_lines: 1 })).toMatch(/^\[2\] Streams/);
  });

  test('citations resolve against this conversation’s pages', async () => {
    const tool = newTool();
    await call(tool, 'search', { query: 'q' });
    await call(tool, 'open', { id: 0, num_lines: 1 });
    expect(tool.normalizeCitations('Approved 7–2【1†L9-L11】; see results【0†L3】.')).toMatchInlineSnapshot(`
      {
        "annotations": [
          {
            "end_index": 106,
            "start_index": 12,
            "title": "www.harborgazette.example",
            "type": "url_citation",
            "url": "https://www.harborgazette.example/local/2024/03/solar-project",
          },
        ],
        "hasPartialCitations": false,
        "text": "Approved 7–2 ([www.harborgazette.example](https://www.harborgazette.example/local/2024/03/solar-project)) ; see results【0†L3】.",
      }
    `);
  });
});

describe('browserBackendFromEnv', () => {
  test.each([
    [{}, 'LocalBackend'],
    [{ YDC_API_KEY: 'k' }, 'YouComBackend'],
    [{ EXA_API_KEY: 'k' }, 'ExaBackend'],
    [{ YDC_API_KEY: 'k', BROWSER_BACKEND: 'exa' }, 'ExaBackend'],
    [{ BROWSER_BACKEND: 'YouCom' }, 'YouComBackend'],
    [{ BROWSER_BACKEND: 'local', BROWSER_DOCS_DIR: '/tmp' }, 'LocalBackend'],
  ])('%j → %s', (env, name) => {
    expect(browserBackendFromEnv(env).constructor.name).toBe(name);
  });
  test('unknown value', () => {
    expect(() => browserBackendFromEnv({ BROWSER_BACKEND: 'bing' })).toThrow(
      'BROWSER_BACKEND must be youcom, exa or local, found "bing".',
    );
  });
});
