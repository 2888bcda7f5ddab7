import { getTokenizer, ToolNamespaceConfig } from '@gptoss/harmony';
import type { Message } from '@gptoss/harmony';
import { BaseTool, toolMessage } from '../tool.js';
import type { ToolProcessOptions } from '../tool.js';
import type { BrowserBackend } from './backend.js';
import { normalizeCitations } from './citations.js';
import type { NormalizedCitations } from './citations.js';
import { BrowserBackendError, BrowserUsageError } from './errors.js';
import { findInPage } from './find.js';
import { maybeTruncate, VIEW_SOURCE_PREFIX } from './page-contents.js';
import type { PageExtract, PageContents } from './page-contents.js';
import { BrowserState, pyTypeName } from './state.js';
import type { BrowserStateJSON } from './state.js';
import { renderPageView } from './view.js';
import type { ViewTokenizer } from './view.js';

/** Options of {@link BrowserTool}. */
export interface BrowserToolOptions {
  /** Where to search and fetch: `LocalBackend` (keyless), `YouComBackend`, `ExaBackend`, or your own. */
  backend: BrowserBackend;
  /** Results asked of the backend per search; the model's `topn` is ignored, as in the reference. Default 20. */
  maxSearchResults?: number;
  /** Token budget of one view when the model gives no `num_lines`. Default 1024. */
  viewTokens?: number;
  /** Tokenizer for the view budget. Default: `@gptoss/harmony`'s o200k tokenizer. */
  tokenizer?: ViewTokenizer;
  /** State to resume (from {@link BrowserTool.getState}); default: no pages. */
  state?: BrowserStateJSON;
}

/**
 * The description the model was trained with; the last line names the backend's source (`sources=web`).
 * Pinned model-facing text (SPEC §4.7 / §5.2).
 */
export function browserDescription(source: string): string {
  return (
    'Tool for browsing.\n' +
    'The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n' +
    'Cite information from the tool using the following format:\n' +
    '`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.\n' +
    'Do not quote more than 10 words directly from the tool output.\n' +
    `sources=${source}`
  );
}

/** The `browser` namespace for the system message, with the description's `sources=` line for `source`. */
export function browserToolConfig(source = 'web'): ToolNamespaceConfig {
  const base = ToolNamespaceConfig.browser();
  return new ToolNamespaceConfig('browser', browserDescription(source), base.tools);
}

const FUNCTIONS = {
  search: { required: ['query'], allowed: ['query', 'topn', 'top_n', 'source'] },
  open: { required: [], allowed: ['id', 'cursor', 'loc', 'num_lines', 'view_source', 'source'] },
  find: { required: ['pattern'], allowed: ['pattern', 'cursor'] },
} as const;
type FunctionName = keyof typeof FUNCTIONS;

/** Python's `json.dumps` of `{"error": msg}` (spaces after `:` and ASCII escapes), as the reference replies. */
function jsonError(msg: string): string {
  const escaped = JSON.stringify(msg).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `{"error": ${escaped}}`;
}

/** Python `str(x)` for JSON values (used where the reference formats arguments). */
function pyStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

function pyTruthy(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0;
  return Boolean(v);
}

class ArgumentError extends Error {}

function intArg(fn: string, name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new ArgumentError(`${fn}() argument '${name}' must be an integer, not '${pyTypeName(v)}'`);
}

/** The JSON object of a browser call, or null when the reference would answer "Invalid function arguments". */
function functionArgs(message: Message): Record<string, unknown> | null {
  if (!message.recipient?.startsWith('browser.')) return null;
  let contents = '';
  const first = message.content[0] as unknown;
  if (message.content.length === 1 && typeof first === 'object' && first !== null && (first as { type?: unknown }).type === 'text') {
    contents = String((first as { text?: unknown }).text ?? '');
  }
  if (!contents) return {};
  try {
    const parsed: unknown = JSON.parse(contents);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // not JSON: same answer as JSON that is not an object
  }
  return null;
}

/**
 * The gpt-oss browser (`browser.search` / `browser.open` / `browser.find`) with the reference's page stack,
 * cursors, link ids, numbered token-budgeted views and find chunks (SPEC §5.2). One instance per conversation: it
 * keeps the pages the model has seen, which is also what citations are resolved against.
 *
 * @example
 * ```ts
 * const browser = new BrowserTool({ backend: new LocalBackend({ root: './docs' }) });
 * const call = Message.fromRoleAndContent('assistant', '{"query":"install"}')
 *   .withChannel('analysis').withRecipient('browser.search');
 * for await (const reply of browser.process(call)) console.log(reply.content[0]);
 * ```
 */
export class BrowserTool extends BaseTool {
  readonly name = 'browser';
  readonly backend: BrowserBackend;
  readonly maxSearchResults: number;
  readonly viewTokens: number;
  private state: BrowserState;
  private tokenizerOverride: ViewTokenizer | undefined;

  constructor(opts: BrowserToolOptions) {
    super();
    this.backend = opts.backend;
    this.maxSearchResults = opts.maxSearchResults ?? 20;
    this.viewTokens = opts.viewTokens ?? 1024;
    this.tokenizerOverride = opts.tokenizer;
    this.state = opts.state ? BrowserState.fromJSON(opts.state) : new BrowserState();
  }

  toolConfig(): ToolNamespaceConfig {
    return browserToolConfig(this.backend.source);
  }

  /** The namespace description shown to the model. */
  get instruction(): string {
    return browserDescription(this.backend.source);
  }

  /** URLs of the visited pages by cursor (search result pages have url `""`). */
  get pageStack(): readonly string[] {
    return this.state.pageStack;
  }

  /** The pages seen so far and the visit stack, as JSON compatible with the reference's tool state. */
  getState(): BrowserStateJSON {
    return this.state.toJSON();
  }

  /**
   * Rewrites `【cursor†…】` citations in final text into markdown links with `url_citation` annotations, using
   * this conversation's page stack.
   */
  normalizeCitations(text: string, opts: { hidePartial?: boolean } = {}): NormalizedCitations {
    return normalizeCitations(text, this.state.pageStack, opts);
  }

  protected override replyAuthor(message: Message): string {
    return message.recipient ?? this.name;
  }

  protected async *run(message: Message, opts: ToolProcessOptions): AsyncIterable<Message> {
    const recipient = message.recipient ?? '';
    const args = functionArgs(message);
    if (args === null) {
      yield toolMessage(recipient, jsonError('Invalid function arguments'));
      return;
    }
    const fn = recipient.slice('browser.'.length);
    if (!Object.hasOwn(FUNCTIONS, fn)) {
      yield toolMessage(recipient, jsonError(`Unknown function: ${fn}`));
      return;
    }
    const name = fn as FunctionName;
    const spec = FUNCTIONS[name];
    const unexpected = Object.keys(args).find((k) => !(spec.allowed as readonly string[]).includes(k));
    const missing = spec.required.find((k) => !(k in args));
    if (unexpected !== undefined || missing !== undefined) {
      const msg =
        unexpected !== undefined
          ? `${name}() got an unexpected keyword argument '${unexpected}'`
          : `${name}() missing 1 required argument: '${missing}'`;
      yield toolMessage(recipient, jsonError(msg));
      return;
    }
    let text: string;
    try {
      if (name === 'search') text = await this.search(args, opts);
      else if (name === 'open') text = await this.open(args, opts);
      else text = await this.find(args);
    } catch (e) {
      if (e instanceof ArgumentError) {
        yield toolMessage(recipient, jsonError(e.message));
        return;
      }
      if (e instanceof BrowserUsageError || e instanceof BrowserBackendError) {
        yield toolMessage(`browser.${name}`, e.message);
        return;
      }
      throw e;
    }
    yield toolMessage(`browser.${name}`, text);
  }

  private tokenizer(): ViewTokenizer {
    this.tokenizerOverride ??= getTokenizer();
    return this.tokenizerOverride;
  }

  private showPage(loc: number, numLines: number): string {
    const page = this.state.getPage();
    try {
      return renderPageView(page, this.state.currentCursor, loc, numLines, this.viewTokens, this.tokenizer());
    } catch (e) {
      // A view that cannot be shown does not count as a visit.
      this.state.popPageStack();
      throw e;
    }
  }

  private async search(args: Record<string, unknown>, opts: ToolProcessOptions): Promise<string> {
    const query = pyStr(args.query);
    let page: PageContents;
    try {
      page = await this.backend.search(query, this.maxSearchResults, { signal: opts.signal });
    } catch (e) {
      throw new BrowserBackendError(`Error during search for \`${query}\`: ${maybeTruncate(errorMessage(e))}`, {
        cause: e,
      });
    }
    this.state.addPage(page);
    return this.showPage(0, -1);
  }

  private async open(args: Record<string, unknown>, opts: ToolProcessOptions): Promise<string> {
    const id = args.id === undefined ? -1 : args.id;
    const cursor = args.cursor === undefined ? -1 : args.cursor;
    let loc = intArg('open', 'loc', args.loc, -1);
    const numLines = intArg('open', 'num_lines', args.num_lines, -1);
    const viewSource = pyTruthy(args.view_source);
    let url: string;
    let snippet: PageExtract | undefined;
    let stay = false;
    let current: PageContents | undefined;
    const direct = typeof id === 'string';
    if (typeof id === 'string') {
      url = id;
    } else {
      current = this.state.getPage(cursor);
      if (typeof id !== 'number') {
        throw new ArgumentError(`open() argument 'id' must be a link id or a URL string, not '${pyTypeName(id)}'`);
      }
      if (id >= 0) {
        const target = current.urls[pyStr(id)];
        if (target === undefined) throw new BrowserUsageError(`Invalid link id \`${pyStr(id)}\`.`);
        url = target;
        snippet = current.snippets?.[pyStr(id)];
      } else {
        if (!viewSource) stay = true;
        url = current.url;
      }
    }
    if (viewSource) {
      url = `${VIEW_SOURCE_PREFIX}${url}`;
      snippet = undefined;
    }
    const page = stay && current ? current : await this.openUrl(url, direct, opts);
    this.state.addPage(page);
    if (loc < 0) {
      if (snippet?.lineIdx !== undefined) {
        loc = snippet.lineIdx;
        if (loc > 4) loc -= 4;
      } else {
        loc = 0;
      }
    }
    return this.showPage(loc, numLines);
  }

  private async openUrl(url: string, direct: boolean, opts: ToolProcessOptions): Promise<PageContents> {
    // A URL typed by the model is a refresh; a link followed from a page may reuse the cached copy.
    if (!direct) {
      const cached = this.state.getPageByUrl(url);
      if (cached) return cached;
    }
    try {
      return await this.backend.fetch(url, { signal: opts.signal });
    } catch (e) {
      throw new BrowserBackendError(
        `Error fetching URL \`${maybeTruncate(url)}\`: ${maybeTruncate(errorMessage(e))}`,
        { cause: e },
      );
    }
  }

  private async find(args: Record<string, unknown>): Promise<string> {
    const page = this.state.getPage(args.cursor === undefined ? -1 : args.cursor);
    if (page.snippets !== undefined) {
      throw new BrowserUsageError('Cannot run `find` on search results page or find results page');
    }
    this.state.addPage(findInPage(pyStr(args.pattern), page));
    return this.showPage(0, -1);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
