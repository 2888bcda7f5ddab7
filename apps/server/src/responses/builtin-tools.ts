import { ToolNamespaceConfig, type Message } from '@gptoss/harmony';
import { BrowserTool, STATELESS_PYTHON_DESCRIPTION, browserToolConfig, type BrowserBackend, type Tool, type ToolRoute, type ToolRouter } from '@gptoss/tools';
import type { ResponsesRequest } from './request.js';

const BROWSER_TYPES = new Set(['web_search', 'web_search_preview', 'browser_search']);
const BROWSER_FUNCTIONS = new Set(['search', 'open', 'find']);

/** Which built-in tools a request turns on (SPEC §6.2): `web_search`/`web_search_preview`/`browser_search`, `code_interpreter`. */
export function requestedBuiltins(req: Pick<ResponsesRequest, 'tools'>): { browser: boolean; python: boolean } {
  return { browser: req.tools.some((t) => BROWSER_TYPES.has(t.type)), python: req.tools.some((t) => t.type === 'code_interpreter') };
}

function functionNames(req: Pick<ResponsesRequest, 'tools'>): Set<string> {
  return new Set(req.tools.flatMap((t) => (t.type === 'function' ? [(t as { name: string }).name] : [])));
}

/** Where a built-in tool is provided from: a browser backend per request, one (stateless) python tool per server. */
export interface BuiltinToolSources {
  browserBackend: () => BrowserBackend;
  python: () => Tool;
}

/** The built-in tools of one request: a fresh browser (its page stack is this response's), the shared python tool. */
export interface RequestTools {
  tools: Tool[];
  browser?: BrowserTool;
  python?: Tool;
  /** System-message namespaces for the enabled tools. */
  namespaces: ToolNamespaceConfig[];
  route: ToolRouter;
  /** `browser`/`python` when `recipient` is a call to an enabled built-in tool. */
  builtin(recipient: string): 'browser' | 'python' | undefined;
}

export function requestTools(req: ResponsesRequest, sources: BuiltinToolSources): RequestTools {
  const on = requestedBuiltins(req);
  const fns = functionNames(req);
  const browser = on.browser ? new BrowserTool({ backend: sources.browserBackend() }) : undefined;
  const python = on.python ? sources.python() : undefined;
  const namespaces: ToolNamespaceConfig[] = [];
  if (browser) namespaces.push(browser.toolConfig());
  if (python) namespaces.push(python.toolConfig());

  // The model sometimes calls the built-ins through `functions.`; the reference accepts that unless a developer
  // function has the name.
  const builtin = (r: string): 'browser' | 'python' | undefined => {
    if (browser) {
      if (r.startsWith('browser.')) return 'browser';
      const m = /^functions\.browser\.(\w+)$/.exec(r);
      if (m && BROWSER_FUNCTIONS.has(m[1]!) && !fns.has(`browser.${m[1]}`)) return 'browser';
    }
    if (python) {
      if (r.startsWith('python')) return 'python';
      if (r === 'functions.python' && !fns.has('python')) return 'python';
    }
    return undefined;
  };
  const route = (call: Message): ToolRoute | undefined => {
    const r = call.recipient ?? '';
    const kind = builtin(r);
    if (kind === 'browser') return { tool: browser!, call: r.startsWith('functions.') ? call.withRecipient(r.slice('functions.'.length)) : call };
    if (kind === 'python') return { tool: python!, call: r === 'functions.python' ? call.withRecipient('python') : call };
    return undefined;
  };
  return { tools: [browser, python].filter((t): t is Tool => t !== undefined), browser, python, namespaces, route, builtin };
}

/** System namespaces for a request without tool instances (prompt previews, tests). */
export function builtinNamespaces(req: Pick<ResponsesRequest, 'tools'>): ToolNamespaceConfig[] {
  const on = requestedBuiltins(req);
  const out: ToolNamespaceConfig[] = [];
  if (on.browser) out.push(browserToolConfig('web'));
  if (on.python) out.push(new ToolNamespaceConfig('python', STATELESS_PYTHON_DESCRIPTION, []));
  return out;
}

/** The `action` of a web_search_call item for a browser call, using the pages seen so far to resolve link ids. */
export function browserAction(call: Message, browser: BrowserTool | undefined): Record<string, unknown> {
  const fn = (call.recipient ?? '').replace(/^(functions\.)?browser\./, '');
  let args: Record<string, unknown> = {};
  try {
    const text = (call.content[0] as { text?: string } | undefined)?.text ?? '';
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) args = parsed as Record<string, unknown>;
  } catch {
    // The tool itself tells the model its arguments were invalid; the item just has less detail.
  }
  const pageUrl = (cursor: unknown): string | undefined => {
    if (!browser) return undefined;
    const stack = browser.pageStack;
    const c = typeof cursor === 'number' && cursor >= 0 ? cursor : stack.length - 1;
    return stack[c];
  };
  if (fn === 'search') return { type: 'search', query: typeof args.query === 'string' ? args.query : '' };
  if (fn === 'find') return { type: 'find', pattern: typeof args.pattern === 'string' ? args.pattern : '', url: pageUrl(args.cursor) ?? '' };
  if (fn === 'open') {
    if (typeof args.id === 'string') return { type: 'open_page', url: args.id };
    const url = pageUrl(args.cursor);
    if (typeof args.id === 'number' && args.id >= 0 && browser && url !== undefined) {
      const page = browser.getState().pages[url];
      return { type: 'open_page', url: page?.urls[String(args.id)] ?? '' };
    }
    return { type: 'open_page', url: url ?? '' };
  }
  return { type: fn };
}
