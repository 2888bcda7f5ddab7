import { Parser } from 'htmlparser2';

/** @internal A minimal mutable HTML tree: the browser rewrites links, images and math in place before rendering. */
export interface HtmlElement {
  kind: 'element';
  tag: string;
  attrs: Record<string, string>;
  children: HtmlNode[];
}

/** @internal */
export interface HtmlText {
  kind: 'text';
  data: string;
}

/** @internal */
export type HtmlNode = HtmlElement | HtmlText;

// Elements after which (or inside which, when empty so far) libxml2 keeps whitespace-only text; elsewhere its HTML
// parser drops it ("areBlanks"). lxml builds the reference's tree this way, and the dropped whitespace decides
// whether "A.</section> <section>B" reads "A. B" or "A.B".
const KEEP_BLANKS_AFTER = new Set([
  'a', 'abbr', 'acronym', 'address', 'applet', 'b', 'bdo', 'big', 'blockquote', 'body', 'button', 'caption',
  'center', 'cite', 'code', 'dd', 'del', 'dfn', 'div', 'dt', 'em', 'font', 'form', 'h1', 'h2', 'h3', 'h4', 'h5',
  'h6', 'i', 'iframe', 'ins', 'kbd', 'label', 'legend', 'li', 'noframes', 'noscript', 'object', 'p', 'pre', 'q', 's',
  'samp', 'small', 'span', 'strike', 'strong', 'td', 'th', 'tt', 'u', 'var',
]);
const BLANK = /^[ \t\n\f\r]*$/;
const HTML4_STRICT = /"-\/\/W3C\/\/DTD HTML 4(?:\.01)?\/\/EN"/i;

/**
 * @internal Parses HTML into a tree with htmlparser2, which (like lxml in the reference) forgives real-world markup:
 * unclosed `<p>`/`<li>`/`<td>`, stray end tags, raw text in `<script>`/`<style>`, entities. Comments and
 * doctypes are dropped: the reference's html2text never prints them. Whitespace-only text is kept or dropped by
 * libxml2's rules.
 */
export function parseHtml(html: string): HtmlElement {
  const root: HtmlElement = { kind: 'element', tag: '#root', attrs: {}, children: [] };
  const stack: HtmlElement[] = [root];
  let pending = '';
  let html4Strict = false;
  // libxml2 puts content into an implied <body>: at the top level of a fragment once something was parsed, and
  // inside an <html> without <body> once something other than <head> was.
  let rootHasHtml = false;
  const htmlWithBody = new WeakSet<HtmlElement>();
  const parentName = (parent: HtmlElement): string | undefined => {
    if (parent === root) return root.children.length === 0 || rootHasHtml ? undefined : 'body';
    if (parent.tag === 'html') return htmlWithBody.has(parent) ? 'body' : 'html';
    return parent.tag;
  };
  const keepBlank = (atEnd: boolean): boolean => {
    if (atEnd) return false;
    const parent = stack[stack.length - 1];
    const name = parentName(parent);
    if (name === undefined || name === 'html' || name === 'head') return false;
    if (name === 'body' && html4Strict) return false;
    const last = parent.children[parent.children.length - 1];
    if (last === undefined) return KEEP_BLANKS_AFTER.has(name);
    if (last.kind === 'text') return true;
    return KEEP_BLANKS_AFTER.has(last.tag);
  };
  const flush = (atEnd = false): void => {
    if (pending === '') return;
    const data = pending;
    pending = '';
    if (BLANK.test(data) && !keepBlank(atEnd)) return;
    const parent = stack[stack.length - 1];
    if (parent.tag === 'html') htmlWithBody.add(parent);
    const last = parent.children[parent.children.length - 1];
    if (last !== undefined && last.kind === 'text') last.data += data;
    else parent.children.push({ kind: 'text', data });
  };
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        flush();
        const el: HtmlElement = { kind: 'element', tag: name, attrs: { ...attribs }, children: [] };
        const parent = stack[stack.length - 1];
        if (parent === root && name === 'html') rootHasHtml = true;
        if (parent.tag === 'html' && name !== 'head') htmlWithBody.add(parent);
        parent.children.push(el);
        stack.push(el);
      },
      ontext(data) {
        pending += data;
      },
      onclosetag() {
        flush();
        if (stack.length > 1) stack.pop();
      },
      onprocessinginstruction(name, data) {
        if (name.toLowerCase() === '!doctype' && HTML4_STRICT.test(data)) html4Strict = true;
      },
      oncomment() {
        // A comment ends a text run for libxml2 too, but does not count as a child when looking back.
        flush();
      },
    },
    // libxml2 (lxml) closes any element written `<x/>`, not only void ones.
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true, recognizeSelfClosing: true },
  );
  parser.write(html);
  parser.end();
  flush(true);
  return root;
}

/** @internal Elements in document order (pre-order), collected before any rewriting, like lxml's `findall`. */
export function findAll(root: HtmlElement, pred: (el: HtmlElement) => boolean): HtmlElement[] {
  const out: HtmlElement[] = [];
  const walk = (el: HtmlElement): void => {
    for (const c of el.children) {
      if (c.kind !== 'element') continue;
      if (pred(c)) out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * @internal Replaces each element of `replacements` by its text in one pass over the tree, merging with the
 * neighbouring text (the surrounding text and the replacement read as one run, as in lxml's text/tail model).
 * Elements inside a replaced element go with it.
 */
export function replaceWithText(root: HtmlElement, replacements: ReadonlyMap<HtmlElement, string>): void {
  if (replacements.size === 0) return;
  const walk = (el: HtmlElement): void => {
    let touched = false;
    for (const c of el.children) {
      if (c.kind === 'element' && replacements.has(c)) {
        touched = true;
        break;
      }
    }
    if (touched) {
      const out: HtmlNode[] = [];
      for (const c of el.children) {
        const text = c.kind === 'element' ? replacements.get(c) : undefined;
        const node: HtmlNode = text === undefined ? c : { kind: 'text', data: text };
        const last = out[out.length - 1];
        if (node.kind === 'text' && last !== undefined && last.kind === 'text') {
          out[out.length - 1] = { kind: 'text', data: last.data + node.data };
        } else {
          out.push(node);
        }
      }
      el.children = out;
    }
    for (const c of el.children) if (c.kind === 'element') walk(c);
  };
  walk(root);
}

/** @internal Text of an element's descendants, pieces joined by a space (lxml `" ".join(el.itertext())`). */
export function itertextJoined(el: HtmlElement): string {
  const parts: string[] = [];
  const walk = (n: HtmlElement): void => {
    for (const c of n.children) {
      if (c.kind === 'text') parts.push(c.data);
      else walk(c);
    }
  };
  walk(el);
  return parts.join(' ');
}
