import { DEFAULT_USER_AGENT, describeFetchError, readCapped, timeoutSignal } from './backend.js';
import type { BackendCallOptions, HttpOptions } from './backend.js';
import { BrowserBackendError } from './errors.js';

/** Options of the search-API backends (You.com, Exa). */
export interface ApiBackendOptions extends HttpOptions {
  /** API key; defaults to the backend's environment variable. */
  apiKey?: string;
  /** API root, e.g. a local test server. */
  baseUrl?: string;
  /** `sources=` value shown to the model. Default `web`. */
  source?: string;
}

/** JSON-over-HTTPS plumbing shared by the You.com and Exa clients (not exported from the package). */
export abstract class ApiBackend {
  readonly source: string;
  protected readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly fetchImpl: typeof globalThis.fetch;
  private readonly userAgent: string;

  protected abstract readonly className: string;
  protected abstract missingKeyMessage(): string;
  protected abstract readonly envVar: string;

  constructor(defaultBaseUrl: string, opts: ApiBackendOptions) {
    this.source = opts.source ?? 'web';
    this.baseUrl = (opts.baseUrl ?? defaultBaseUrl).replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.userAgent = opts.userAgent ?? DEFAULT_USER_AGENT;
  }

  private key(): string {
    const key = this.apiKey ?? process.env[this.envVar];
    if (!key) throw new BrowserBackendError(this.missingKeyMessage());
    return key;
  }

  protected async request(
    method: 'GET' | 'POST',
    endpoint: string,
    payload: Record<string, unknown>,
    opts: BackendCallOptions = {},
  ): Promise<unknown> {
    const headers: Record<string, string> = { 'x-api-key': this.key(), 'user-agent': this.userAgent };
    let url = `${this.baseUrl}${endpoint}`;
    let body: string | undefined;
    if (method === 'GET') {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(payload)) qs.set(k, String(v));
      url += `?${qs.toString()}`;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(payload);
    }
    const what = `${this.className} ${method} ${endpoint}`;
    const signal = timeoutSignal(this.timeoutMs, opts.signal);
    let text: string;
    let status: number;
    try {
      const res = await this.fetchImpl(url, { method, headers, body, signal, redirect: 'follow' });
      status = res.status;
      text = new TextDecoder().decode(await readCapped(res, this.maxBytes, what));
    } catch (e) {
      throw describeFetchError(e, what, this.timeoutMs, opts.signal);
    }
    if (status !== 200) throw new BrowserBackendError(`${this.className} error ${status}: ${text}`);
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new BrowserBackendError(`${what}: expected a JSON body, got ${JSON.stringify(text.slice(0, 200))}.`, {
        cause: e,
      });
    }
  }
}

/** @internal */
export function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** @internal Summary text: strings as they are, string lists (You.com `snippets`) joined by spaces. */
export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.filter((x) => typeof x === 'string').join(' ');
  return v === undefined || v === null ? '' : String(v);
}
