import MiniSearch from 'minisearch';

/** A document in the local search index. */
export interface IndexedDoc {
  id: number;
  url: string;
  title: string;
  /** Plain text (link markers removed) used for matching and summaries. */
  text: string;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const TOKEN_RUN = /[\p{L}\p{N}\p{M}_]+/gu;

/**
 * Splits text into search terms: runs of letters/digits, with Chinese/Japanese/Korean runs (written without
 * spaces) cut into overlapping character pairs so that a query word matches inside a sentence.
 */
export function tokenizeForSearch(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFKC').matchAll(TOKEN_RUN)) {
    const run = m[0];
    if (!CJK.test(run)) {
      out.push(run);
      continue;
    }
    let plain = '';
    const flush = (): void => {
      if (plain) out.push(plain);
      plain = '';
    };
    const chars = Array.from(run);
    for (let i = 0; i < chars.length; i++) {
      if (!CJK.test(chars[i])) {
        plain += chars[i];
        continue;
      }
      flush();
      const next = chars[i + 1];
      out.push(next !== undefined && CJK.test(next) ? chars[i] + next : chars[i]);
    }
    flush();
  }
  return out;
}

/** @internal A full-text index (BM25 via MiniSearch) over local documents. */
export class LocalIndex {
  private readonly mini = new MiniSearch<IndexedDoc>({
    fields: ['title', 'text'],
    storeFields: ['url', 'title'],
    tokenize: tokenizeForSearch,
    processTerm: (t) => t.toLowerCase(),
    searchOptions: { boost: { title: 2 }, prefix: (t) => t.length >= 3, fuzzy: (t) => (t.length >= 5 ? 0.2 : false) },
  });
  private readonly docs = new Map<number, IndexedDoc>();

  add(doc: IndexedDoc): void {
    this.mini.add(doc);
    this.docs.set(doc.id, doc);
  }

  get size(): number {
    return this.docs.size;
  }

  search(query: string, limit: number): { doc: IndexedDoc; terms: string[] }[] {
    return this.mini
      .search(query)
      .slice(0, limit)
      .map((r) => ({ doc: this.docs.get(r.id as number)!, terms: r.terms }));
  }
}

/** A summary of `text` around the first occurrence of one of `terms` (about `width` characters, whole words). */
export function summarize(text: string, terms: readonly string[], width = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const lower = flat.toLowerCase();
  let at = -1;
  for (const t of terms) {
    const i = lower.indexOf(t.toLowerCase());
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  let start = Math.max(0, at - Math.floor(width / 3));
  if (start > 0) {
    const sp = flat.indexOf(' ', start);
    if (sp >= 0 && sp < at) start = sp + 1;
  }
  let end = Math.min(flat.length, start + width);
  if (end < flat.length) {
    const sp = flat.lastIndexOf(' ', end);
    if (sp > start + width / 2) end = sp;
  }
  return (start > 0 ? '…' : '') + flat.slice(start, end) + (end < flat.length ? '…' : '');
}
