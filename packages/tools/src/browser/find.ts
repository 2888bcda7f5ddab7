import { quote } from './page-contents.js';
import type { PageExtract, PageContents } from './page-contents.js';
import { joinLines, wrappedPageLines } from './text-wrap.js';

// A link marker cut by the start of the text, an unfinished marker at its end, and whole markers. The content
// group keeps the visible link text so that `find` matches what the model reads, not the marker syntax.
const PARTIAL_INITIAL_LINK = /^[^【】]*】/;
const PARTIAL_FINAL_LINK = /【\d*(?:†([^†】]*)(?:†[^†】]*)?)?(?=\n?$)/;
const LINK = /【\d+†([^†】]+)(?:†[^†】]+)?】/g;

/** Replaces `【id†text(†domain)】` markers (also cut-off ones at either end) by their text. */
export function stripLinks(text: string): string {
  return text
    .replace(PARTIAL_INITIAL_LINK, '')
    .replace(PARTIAL_FINAL_LINK, (_m, content: string | undefined) => content ?? '')
    .replace(LINK, (_m, content: string) => content);
}

/**
 * `find(pattern)` on a page (SPEC §5.2): a case-insensitive substring scan over the wrapped lines without link
 * markers; each match becomes a chunk `# 【k†match at L{i}】` with 4 lines, and a link `k` back to the page whose
 * snippet remembers line `i`. At most `maxResults` matches.
 */
export function findInPage(pattern: string, page: PageContents, maxResults = 50, numShowLines = 4): PageContents {
  const needle = pattern.toLowerCase();
  const lines = stripLinks(joinLines(wrappedPageLines(page.text))).split('\n');
  const chunks: string[] = [];
  const snippets: Record<string, PageExtract> = {};
  const urls: Record<string, string> = {};
  let lineIdx = 0;
  let matchIdx = 0;
  while (lineIdx < lines.length) {
    if (!lines[lineIdx].toLowerCase().includes(needle)) {
      lineIdx++;
      continue;
    }
    const snippet = lines.slice(lineIdx, lineIdx + numShowLines).join('\n');
    chunks.push(`# 【${matchIdx}†match at L${lineIdx}】\n${snippet}`);
    snippets[String(matchIdx)] = { url: page.url, text: snippet, title: `#${matchIdx}`, lineIdx };
    urls[String(matchIdx)] = page.url;
    if (chunks.length === maxResults) break;
    matchIdx++;
    lineIdx += numShowLines;
  }
  return {
    url: `${page.url}/find?pattern=${quote(needle)}`,
    title: `Find results for text: \`${needle}\` in \`${page.title}\``,
    text: chunks.length > 0 ? chunks.join('\n\n') : `No \`find\` results for pattern: \`${needle}\``,
    urls,
    snippets,
  };
}
