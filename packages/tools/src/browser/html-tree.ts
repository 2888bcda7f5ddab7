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

/**
 * @internal Parses HTML into a tree with htmlparser2, which (like lxml in the reference) forgives real-world markup:
 * unclosed `<p>`/`<li>`/`<td>`, stray end tags, raw text in `<script>`/`<style>`, entities. Comments and
 * doctypes are dropped: the reference's html2text never prints them.
 */
export function parseHtml(html: string): HtmlElement {
  const root: HtmlElement = { kind: 'element', tag: '#root', attrs: {}, children: [] };
  const stack: HtmlElement[] = [root];
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        const el: HtmlElement = { kind: 'element', tag: name, attrs: { ...attribs }, children: [] };
        stack[stack.length - 1].children.push(el);
        stack.push(el);
      },
      ontext(data) {
        const children = stack[stack.length - 1].children;
        const last = children[children.length - 1];
        if (last !== undefined && last.kind === 'text') last.data += data;
        else children.push({ kind: 'text', data });
      },
      onclosetag() {
        if (stack.length > 1) stack.pop();
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
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
