import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DEFAULT_USER_AGENT, describeFetchError, readCapped, timeoutSignal, viewSourcePage } from './backend.js';
import { BrowserBackendError } from './errors.js';
import { getDomain } from './page-contents.js';
import type { PageContents } from './page-contents.js';
import { processHtml, processPlainText } from './process-html.js';

/** Options for fetching http(s) pages directly. */
export interface WebFetchOptions {
  /** Milliseconds for the whole fetch, redirects included. Default 15 000. */
  timeoutMs?: number;
  /** Largest body accepted, in bytes. Default 5 MiB. */
  maxBytes?: number;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
  /**
   * Allow loopback, private, link-local and unique-local addresses (checked for every redirect hop after DNS
   * resolution). Default false, so a model cannot reach services on the user's machine or network.
   */
  allowPrivateHosts?: boolean;
  /** `fetch` implementation. Default: the global `fetch` (undici). */
  fetch?: typeof globalThis.fetch;
  /** `user-agent` header. */
  userAgent?: string;
}

function ipv4Private(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224
  );
}

/** True for addresses that are not on the public internet (loopback, private, link-local, multicast, …). */
export function isPrivateAddress(ip: string): boolean {
  const v = isIP(ip);
  if (v === 4) return ipv4Private(ip);
  if (v === 6) {
    const lower = ip.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (mapped) return ipv4Private(mapped[1]);
    return (
      lower === '::' ||
      lower === '::1' ||
      /^f[cd][0-9a-f]{2}:/.test(lower) ||
      /^fe[89ab][0-9a-f]:/.test(lower) ||
      lower.startsWith('ff')
    );
  }
  return false;
}

async function checkHost(url: URL): Promise<void> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) {
    throw new BrowserBackendError(`refusing to fetch ${url.origin}: it is a local address (allowPrivateHosts is off).`);
  }
  const addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  const bad = addrs.find(isPrivateAddress);
  if (bad !== undefined) {
    throw new BrowserBackendError(
      `refusing to fetch ${url.origin}: it resolves to the private address ${bad} (allowPrivateHosts is off).`,
    );
  }
}

function charsetOf(contentType: string): string | undefined {
  const m = /charset\s*=\s*"?([\w.:-]+)"?/i.exec(contentType);
  return m ? m[1].toLowerCase() : undefined;
}

function sniffHtmlCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 2048));
  const m = /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(head);
  return m ? m[1].toLowerCase() : undefined;
}

function decode(bytes: Uint8Array, charset: string | undefined): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return new TextDecoder('utf-8').decode(bytes);
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * Fetches an http(s) URL and renders it: HTML through {@link processHtml}, plain text and markdown as text.
 * Redirects are followed by hand so that every hop's host is checked. Errors are `BrowserBackendError`s.
 */
export async function fetchWebPage(
  rawUrl: string,
  viewSource: boolean,
  opts: WebFetchOptions & { signal?: AbortSignal } = {},
): Promise<PageContents> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
  const maxRedirects = opts.maxRedirects ?? 5;
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const signal = timeoutSignal(timeoutMs, opts.signal);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new BrowserBackendError(`not a valid URL: ${rawUrl}`);
  }
  const what = `GET ${rawUrl}`;
  try {
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new BrowserBackendError(`only http and https URLs can be fetched, not ${url.protocol}`);
      }
      if (!opts.allowPrivateHosts) await checkHost(url);
      const res = await fetchImpl(url, {
        redirect: 'manual',
        signal,
        headers: {
          'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT,
          accept: 'text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.5',
        },
      });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location !== null) {
        await res.body?.cancel().catch(() => undefined);
        if (hop >= maxRedirects) throw new BrowserBackendError(`more than ${maxRedirects} redirects`);
        url = new URL(location, url);
        continue;
      }
      if (res.status < 200 || res.status >= 300) {
        await res.body?.cancel().catch(() => undefined);
        throw new BrowserBackendError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
      }
      const contentType = (res.headers.get('content-type') ?? '').toLowerCase();
      const bytes = await readCapped(res, maxBytes, what);
      const finalUrl = url.href;
      const isHtml = contentType.includes('html') || (contentType === '' && /^\s*</.test(decode(bytes.subarray(0, 512), 'utf-8')));
      const isText = contentType.startsWith('text/') || contentType.includes('json') || contentType.includes('xml');
      if (!isHtml && !isText) {
        throw new BrowserBackendError(`unsupported content type ${JSON.stringify(contentType)}; only HTML and text pages can be shown`);
      }
      const body = decode(bytes, charsetOf(contentType) ?? (isHtml ? sniffHtmlCharset(bytes) : undefined));
      if (viewSource) return viewSourcePage(finalUrl, getDomain(finalUrl), body);
      if (isHtml) {
        const page = processHtml(body, finalUrl, { displayUrls: true });
        return { ...page, title: page.title.replace(/\s+/g, ' ').trim() || getDomain(finalUrl) };
      }
      return processPlainText(body, finalUrl, getDomain(finalUrl));
    }
  } catch (e) {
    throw describeFetchError(e, what, timeoutMs, opts.signal);
  }
}
