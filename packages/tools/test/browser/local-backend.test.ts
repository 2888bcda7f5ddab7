// The keyless backend end to end: search → open → find over a folder of docs through process(message), plus
// direct web fetching (against a local server) with its limits.
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BrowserTool } from '../../src/browser/browser-tool.js';
import { LocalBackend } from '../../src/browser/local-backend.js';
import { tokenizeForSearch } from '../../src/browser/local-index.js';
import { call } from './helpers.js';

const DOCS = fileURLToPath(new URL('../fixtures/browser/docs/', import.meta.url));

describe('local documents', () => {
  test('search → open → find → open a match, through harmony messages', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend({ root: DOCS }) });
    const results = await call(tool, 'search', { query: 'environment variable port' });
    expect(results).toMatchInlineSnapshot(`
      "[0] environment variable port
      **viewing lines [0 - 10] of 10**

      L0: 
      L1: URL: 
      L2: # Search Results
      L3: 
      L4:   * 【0†Configuring a site†local】 …from the project root. Every setting can also 
      L5: be given as an environment variable, which wins over the file. Setting 
      L6: Environment variable Default \`port\` \`LUMEN_PORT\` \`4000\` \`outDir\` 
      L7: \`LUMEN_OUT_DIR\`…
      L8:   * 【1†changelog.txt†local】 Lumen changelog 2.1.0 - \`lumen serve\` now honours 
      L9: LUMEN_PORT=0 and prints the chosen port. - Faster incremental builds for sites 
      L10: with more than 5,000 pages. 2.0.0 - Configuration moved from lumen.yml…"
    `);
    const opened = await call(tool, 'open', { id: 0 });
    expect(opened).toMatchInlineSnapshot(`
      "[1] Configuring a site (docs://local/guide/configure.md)
      **viewing lines [0 - 20] of 20**

      L0: 
      L1: URL: docs://local/guide/configure.md
      L2: # Configuring a site
      L3: 
      L4: Lumen reads \`lumen.config.json\` from the project root. Every setting can also be
      L5:  given as an environment variable, which wins over the file.
      L6: 
      L7: Setting Environment variable Default  
      L8: \`port\` \`LUMEN_PORT\` \`4000\`  
      L9: \`outDir\` \`LUMEN_OUT_DIR\` \`_site\`  
      L10: \`baseUrl\` \`LUMEN_BASE_URL\` \`/\`  
      L11: 
      L12: ## Development server
      L13: 
      L14: Run \`lumen serve\` to start a server on \`LUMEN_PORT\` that rebuilds pages when 
      L15: files change. Set \`LUMEN_PORT=0\` to pick a free port.
      L16: 
      L17: ## Drafts
      L18: 
      L19: Pages with \`draft: true\` in their front matter are built by \`lumen serve\` but 
      L20: skipped by \`lumen build\`."
    `);
    const found = await call(tool, 'find', { pattern: 'lumen_port' });
    expect(found).toMatchInlineSnapshot(`
      "[2] Find results for text: \`lumen_port\` in \`Configuring a site\` (docs://local/guide/configure.md/find?pattern=lumen_port)
      **viewing lines [0 - 10] of 10**

      L0: # 【0†match at L8】
      L1: \`port\` \`LUMEN_PORT\` \`4000\`  
      L2: \`outDir\` \`LUMEN_OUT_DIR\` \`_site\`  
      L3: \`baseUrl\` \`LUMEN_BASE_URL\` \`/\`  
      L4: 
      L5: 
      L6: # 【1†match at L14】
      L7: Run \`lumen serve\` to start a server on \`LUMEN_PORT\` that rebuilds pages when 
      L8: files change. Set \`LUMEN_PORT=0\` to pick a free port.
      L9: 
      L10: ## Drafts"
    `);
    expect(await call(tool, 'open', { id: 1, num_lines: 3 })).toMatchInlineSnapshot(`
      "[3] Configuring a site (docs://local/guide/configure.md)
      **viewing lines [10 - 12] of 20**

      L10: \`baseUrl\` \`LUMEN_BASE_URL\` \`/\`  
      L11: 
      L12: ## Development server"
    `);
    // Links between local documents resolve and open, fragments included.
    const install = await call(tool, 'open', { id: 'docs://local/guide/install.md' });
    expect(install).toMatchInlineSnapshot(`
      "[4] Installing Lumen (docs://local/guide/install.md)
      **viewing lines [0 - 16] of 16**

      L0: 
      L1: URL: docs://local/guide/install.md
      L2: # Installing Lumen
      L3: 
      L4: Lumen is a small static-site generator. It needs Node.js 20 or later.
      L5: 
      L6: ## From npm
      L7: 
      L8:     npm install --global lumen-cli
      L9:     lumen --version
      L10: 
      L11: ## From source
      L12: 
      L13: Clone the 【0†repository†github.com】 and run \`npm run build\`. The binary is 
      L14: written to \`dist/lumen.js\`.
      L15: 
      L16: Next: 【1†configure your site】, or read the 【2†FAQ】."
    `);
    expect((await call(tool, 'open', { id: 2, num_lines: 1 })).split('\n')[0]).toBe(
      '[5] Lumen — Frequently asked questions (docs://local/faq.html)',
    );
    expect((await call(tool, 'open', { id: 0, num_lines: 1 })).split('\n')[0]).toBe(
      '[6] Configuring a site (docs://local/guide/configure.md#development-server)',
    );
  });

  test('HTML, Markdown and text documents; hidden files are not indexed', async () => {
    const backend = new LocalBackend({ root: DOCS });
    const faq = await backend.fetch('docs://local/faq.html');
    expect(faq.title).toBe('Lumen — Frequently asked questions');
    expect(faq.text).toMatchInlineSnapshot(`
      "
      URL: docs://local/faq.html
      # Frequently asked questions

      ## Why is my page not rebuilt?

      The development server watches the \`pages/\` folder only. Files elsewhere need a restart; see 【0†Development server】.

      ## Can I deploy to a subfolder?

      Yes: set \`baseUrl\` (or \`LUMEN_BASE_URL\`) to the folder, for example \`/docs/\`.

      ## Does Lumen support math?

      Formulas in MathML, like , are left out of the page text, while superscripts such as m^{2} are kept."
    `);
    const changelog = await backend.fetch('docs://local/notes/changelog.txt');
    expect(changelog.title).toBe('changelog.txt');
    expect(changelog.text.startsWith('\nURL: docs://local/notes/changelog.txt\nLumen changelog\n\n2.1.0\n')).toBe(true);
    const hidden = await backend.search('hidden dot', 10);
    expect(hidden.urls).toEqual({});
    expect(hidden.text).toBe('\nURL: \n# Search Results');
  });

  test('Japanese: text without spaces is searchable by word', async () => {
    expect(tokenizeForSearch('京都の紅葉 Lumen')).toEqual(['京都', '都の', 'の紅', '紅葉', '葉', 'Lumen']);
    const page = await new LocalBackend({ root: DOCS }).search('東福寺', 5);
    expect(page.urls).toEqual({ '0': 'docs://local/ja/kyoto.md' });
    expect(page.text).toContain('【0†京都の紅葉†local】');
  });

  test('view_source shows the file as it is', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend({ root: DOCS }) });
    await call(tool, 'open', { id: 'docs://local/guide/install.md', num_lines: 1 });
    expect(await call(tool, 'open', { view_source: true, num_lines: 8 })).toMatchInlineSnapshot(`
      "[1] install.md (view-source:docs://local/guide/install.md)
      **viewing lines [0 - 7] of 20**

      L0: 
      L1: URL: view-source:docs://local/guide/install.md
      L2: # Installing Lumen
      L3: 
      L4: Lumen is a small static-site generator. It needs Node.js 20 or later.
      L5: 
      L6: ## From npm
      L7: "
    `);
  });

  test('paths outside the folder are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gptoss-browser-'));
    try {
      cpSync(DOCS, path.join(dir, 'docs'), { recursive: true });
      writeFileSync(path.join(dir, 'secret.txt'), 'top secret');
      symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'docs', 'link.txt'));
      const backend = new LocalBackend({ root: path.join(dir, 'docs') });
      await expect(backend.fetch('docs://local/../secret.txt')).rejects.toThrow('leaves the document folder');
      await expect(backend.fetch('docs://local/%2E%2E/secret.txt')).rejects.toThrow('leaves the document folder');
      await expect(backend.fetch('docs://local/link.txt')).rejects.toThrow('leaves the document folder (symlink)');
      await expect(backend.fetch('docs://local/missing.md')).rejects.toThrow('no document at docs://local/missing.md');
      await expect(backend.fetch('file:///etc/passwd')).rejects.toThrow('expected an http(s) URL or a document under docs://local/');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('folders open as a list of their documents', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend({ root: DOCS }) });
    expect(await call(tool, 'open', { id: 'docs://local/' })).toMatchInlineSnapshot(`
      "[0] Index of / (docs://local/)
      **viewing lines [0 - 7] of 7**

      L0: 
      L1: URL: docs://local/
      L2: # Index of /
      L3: 
      L4:   * 【0†faq.html】
      L5:   * 【1†guide/】
      L6:   * 【2†ja/】
      L7:   * 【3†notes/】"
    `);
    expect(await call(tool, 'open', { id: 1 })).toMatchInlineSnapshot(`
      "[1] Index of /guide/ (docs://local/guide/)
      **viewing lines [0 - 5] of 5**

      L0: 
      L1: URL: docs://local/guide/
      L2: # Index of /guide/
      L3: 
      L4:   * 【0†configure.md】
      L5:   * 【1†install.md】"
    `);
  });

  test('a missing folder is reported as such', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend({ root: '/nonexistent/gptoss-docs' }) });
    expect(await call(tool, 'search', { query: 'x' })).toMatch(
      /^Error during search for `x`: the document folder \/nonexistent\/gptoss-docs cannot be read \(ENOENT/,
    );
  });

  test('without a folder, search explains what to configure', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend() });
    expect(await call(tool, 'search', { query: 'x' })).toBe(
      'Error during search for `x`: no document folder configured; pass { root } to LocalBackend to enable search',
    );
  });
});

describe('web pages', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      if (url === '/article') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end('<html><head><title>\n  A page\n</title></head><body><p>Hello <a href="/other">other</a>.</p></body></html>');
      } else if (url === '/cp1251') {
        res.writeHead(200, { 'content-type': 'text/html' });
        // "Новости" and "Привет, мир" in windows-1251.
        const title = Buffer.from([0xcd, 0xee, 0xe2, 0xee, 0xf1, 0xf2, 0xe8]);
        const body = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x2c, 0x20, 0xec, 0xe8, 0xf0]);
        res.end(
          Buffer.concat([
            Buffer.from('<html><head><meta charset="windows-1251"><title>'),
            title,
            Buffer.from('</title></head><body><p>'),
            body,
            Buffer.from('</p></body></html>'),
          ]),
        );
      } else if (url === '/redirect') {
        res.writeHead(302, { location: '/article' });
        res.end();
      } else if (url === '/loop') {
        res.writeHead(302, { location: '/loop' });
        res.end();
      } else if (url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('line one\n\n\n\nline two 【not a marker】');
      } else if (url === '/image') {
        res.writeHead(200, { 'content-type': 'image/png' });
        res.end(Buffer.alloc(10));
      } else if (url === '/big') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.write('<p>' + 'x'.repeat(50_000));
        res.end('</p>');
      } else if (url === '/slow') {
        setTimeout(() => res.end('late'), 2_000).unref();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('nope');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  // A generous timeout for the ordinary cases (CI runs suites side by side on 2 cores); the timeout case sets its own.
  const web = (opts = {}) => new LocalBackend({ allowPrivateHosts: true, timeoutMs: 10_000, maxBytes: 20_000, ...opts });

  test('HTML pages: title cleaned, links resolved, redirects followed', async () => {
    const page = await web().fetch(`${base}/redirect`);
    expect(page).toEqual({
      url: `${base}/article`,
      title: 'A page',
      text: `\nURL: ${base}/article\nHello 【0†other】.`,
      urls: { '0': `${base}/other` },
    });
  });

  test('charset from <meta>', async () => {
    const page = await web().fetch(`${base}/cp1251`);
    expect(page.title).toBe('Новости');
    expect(page.text.endsWith('Привет, мир')).toBe(true);
  });

  test('plain text: reserved characters replaced, blank runs collapsed', async () => {
    expect((await web().fetch(`${base}/text`)).text).toBe(`\nURL: ${base}/text\nline one\n\nline two 〖not a marker〗`);
  });

  test('limits and failures', async () => {
    await expect(web().fetch(`${base}/image`)).rejects.toThrow('unsupported content type "image/png"');
    await expect(web().fetch(`${base}/big`)).rejects.toThrow('larger than the 20000-byte limit');
    await expect(web({ timeoutMs: 300 }).fetch(`${base}/slow`)).rejects.toThrow('no response within 300 ms');
    await expect(web().fetch(`${base}/missing`)).rejects.toThrow('HTTP 404 Not Found');
    await expect(web().fetch(`${base}/loop`)).rejects.toThrow('more than 5 redirects');
    await expect(web({ allowWeb: false }).fetch(`${base}/article`)).rejects.toThrow('allowWeb: false');
  });

  test('private addresses are refused by default, the model sees why', async () => {
    const tool = new BrowserTool({ backend: new LocalBackend() });
    expect(await call(tool, 'open', { id: `${base}/article` })).toBe(
      `Error fetching URL \`${base}/article\`: refusing to fetch ${base}: it resolves to the private address 127.0.0.1 (allowPrivateHosts is off).`,
    );
    expect(await call(tool, 'open', { id: 'http://localhost:9/x' })).toBe(
      'Error fetching URL `http://localhost:9/x`: refusing to fetch http://localhost:9: it is a local address (allowPrivateHosts is off).',
    );
  });
});
