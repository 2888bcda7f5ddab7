import type { HtmlElement } from './html-tree.js';

// HTML → text with the layout rules of Python html2text as configured by the reference browser (links, images,
// tables and emphasis ignored, no wrapping, no markdown escaping, unicode kept). The model was trained on pages
// rendered that way: `# ` headings, `  * ` list items, 4-space indented `<pre>`, rows ending in two spaces.
// This is a state machine driven by start tag / text / end tag events over our tree; it reproduces html2text's
// paragraph-break and whitespace bookkeeping (pending breaks, pending space, first-output swallowing).

function headingLevel(tag: string): number {
  if (tag.length === 2 && tag[0] === 'h' && tag[1] >= '1' && tag[1] <= '9') return Number(tag[1]);
  return 0;
}

interface ListState {
  name: string;
  num: number;
}

const WS_RUN = /\s+/g;
const STRESS_FOLLOW = /^[^\][(){}\s.!?]/;

class TextEmitter {
  private out: string[] = [];
  private quiet = 0;
  /** Number of newlines owed before the next output (1 = line break, 2 = paragraph break). */
  private pP = 0;
  private start = true;
  private space = false;
  private lastWasNL = false;
  private lastWasList = false;
  private list: ListState[] = [];
  private listCodeIndent = '';
  private blockquote = 0;
  private pre = false;
  private startPre = false;
  private code = false;
  private quote = false;
  private brToggle = '';
  private stressed = false;
  private precedingStressed = false;
  private precedingData = '';
  private currentTag = '';
  private abbrTitle: string | undefined;
  private abbrData: string | undefined;
  private abbrList = new Map<string, string>();

  private emit(s: string): void {
    this.out.push(s);
    if (s) this.lastWasNL = s[s.length - 1] === '\n';
  }

  private pbr(): void {
    if (this.pP === 0) this.pP = 1;
  }

  private p(): void {
    this.pP = 2;
  }

  private softBr(): void {
    this.pbr();
    this.brToggle = '  ';
  }

  private o(input: string, pureData = false, force: boolean | 'end' = false): void {
    let data = input;
    if (this.abbrData !== undefined) this.abbrData += data;
    if (this.quiet) return;
    if (pureData && !this.pre) {
      data = data.replace(WS_RUN, ' ');
      if (data[0] === ' ') {
        this.space = true;
        data = data.slice(1);
      }
    }
    if (!data && !force) return;
    if (this.startPre && !data.startsWith('\n') && !data.startsWith('\r\n')) data = '\n' + data;
    let bq = '>'.repeat(this.blockquote);
    if (!(force && data && data[0] === '>') && this.blockquote) bq += ' ';
    if (this.pre) {
      if (this.list.length) bq += this.listCodeIndent;
      bq += '    ';
      data = data.split('\n').join('\n' + bq);
    }
    if (this.startPre) {
      this.startPre = false;
      if (this.list.length) data = lstripChars(data, '\n' + bq);
    }
    if (this.start) {
      this.space = false;
      this.pP = 0;
      this.start = false;
    }
    if (force === 'end') {
      this.pP = 0;
      this.emit('\n');
      this.space = false;
    }
    if (this.pP) {
      this.emit((this.brToggle + '\n' + bq).repeat(this.pP));
      this.space = false;
      this.brToggle = '';
    }
    if (this.space) {
      if (!this.lastWasNL) this.emit(' ');
      this.space = false;
    }
    if (force === 'end' && this.abbrList.size) {
      for (const [abbr, def] of this.abbrList) this.emit(`  *[${abbr}]: ${def}\n`);
    }
    this.pP = 0;
    this.emit(data);
  }

  text(input: string): void {
    let data = input;
    if (!data) return;
    if (this.stressed) {
      data = data.trim();
      this.stressed = false;
      this.precedingStressed = true;
    } else if (this.precedingStressed) {
      if (
        STRESS_FOLLOW.test(data[0]) &&
        !headingLevel(this.currentTag) &&
        !['a', 'code', 'pre'].includes(this.currentTag)
      ) {
        data = ' ' + data;
      }
      this.precedingStressed = false;
    }
    this.precedingData = data;
    this.o(data, true);
  }

  tag(tag: string, attrs: Record<string, string>, start: boolean): void {
    this.currentTag = tag;
    const hn = headingLevel(tag);
    if (hn) {
      this.p();
      if (start) {
        this.o('#'.repeat(hn) + ' ');
      } else {
        return;
      }
    }
    if (tag === 'p' || tag === 'div') this.p();
    if (tag === 'br' && start) this.o(this.blockquote > 0 ? '  \n> ' : '  \n');
    if (tag === 'hr' && start) {
      this.p();
      this.o('* * *');
      this.p();
    }
    // <title> is listed too: lxml always moves it into <head>, which html2text silences.
    if (tag === 'head' || tag === 'style' || tag === 'script' || tag === 'title') this.quiet += start ? 1 : -1;
    if (tag === 'body') this.quiet = 0;
    if (tag === 'blockquote') {
      if (start) {
        this.p();
        this.o('> ', false, true);
        this.start = true;
        this.blockquote++;
      } else {
        this.blockquote--;
        this.p();
      }
    }
    if (tag === 'del' || tag === 'strike' || tag === 's') {
      const strike = start && this.precedingData.endsWith('~') ? ' ~~' : '~~';
      if (strike === ' ~~') this.precedingData += ' ';
      this.o(strike);
      if (start) this.stressed = true;
    }
    if ((tag === 'kbd' || tag === 'code' || tag === 'tt') && !this.pre) {
      this.o('`');
      this.code = !this.code;
    }
    if (tag === 'abbr') {
      if (start) {
        this.abbrTitle = attrs.title;
        this.abbrData = '';
      } else {
        if (this.abbrTitle !== undefined && this.abbrData !== undefined) this.abbrList.set(this.abbrData, this.abbrTitle);
        this.abbrTitle = undefined;
        this.abbrData = undefined;
      }
    }
    if (tag === 'q') {
      this.o('"');
      this.quote = !this.quote;
    }
    if (tag === 'dl' && start) this.p();
    if (tag === 'dt' && !start) this.pbr();
    if (tag === 'dd' && start) this.o('    ');
    if (tag === 'dd' && !start) this.pbr();
    if (tag === 'ol' || tag === 'ul') {
      if (!this.list.length && !this.lastWasList) this.p();
      if (start) {
        let first = 0;
        if (attrs.start !== undefined && /^\s*[+-]?\d+\s*$/.test(attrs.start)) first = parseInt(attrs.start, 10) - 1;
        this.list.push({ name: tag, num: first });
      } else if (this.list.length) {
        this.list.pop();
        if (!this.list.length) this.o('\n');
      }
      this.lastWasList = true;
    } else {
      this.lastWasList = false;
    }
    if (tag === 'li') {
      this.listCodeIndent = '';
      this.pbr();
      if (start) {
        const li = this.list[this.list.length - 1] ?? { name: 'ul', num: 0 };
        let parent: string | undefined;
        for (const l of this.list) {
          this.listCodeIndent += parent === 'ol' ? '   ' : '  ';
          parent = l.name;
        }
        this.o(this.listCodeIndent);
        if (li.name === 'ul') {
          this.listCodeIndent += '  ';
          this.o('* ');
        } else if (li.name === 'ol') {
          li.num++;
          this.listCodeIndent += '   ';
          this.o(`${li.num}. `);
        }
        this.start = true;
      }
    }
    if (tag === 'tr' && !start) this.softBr();
    if (tag === 'pre') {
      if (start) {
        this.startPre = true;
        this.pre = true;
      } else {
        this.pre = false;
      }
      this.p();
    }
  }

  finish(): string {
    this.pbr();
    this.o('', false, 'end');
    return this.out.join('');
  }
}

function lstripChars(s: string, chars: string): string {
  let i = 0;
  while (i < s.length && chars.includes(s[i])) i++;
  return s.slice(i);
}

/** @internal Renders a (rewritten) HTML tree as html2text would with the reference browser's settings. */
export function renderTreeText(root: HtmlElement): string {
  const em = new TextEmitter();
  const walk = (el: HtmlElement): void => {
    for (const c of el.children) {
      if (c.kind === 'text') {
        em.text(c.data);
      } else {
        em.tag(c.tag, c.attrs, true);
        walk(c);
        em.tag(c.tag, c.attrs, false);
      }
    }
  };
  walk(root);
  return em.finish();
}
