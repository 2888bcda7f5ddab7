import type { GenerateEvent, GenerationStats } from '@gptoss/runtime';
import type { Tokenizer } from '@gptoss/harmony';

export interface Out {
  write(s: string): unknown;
}

export interface RenderTarget {
  /** The answer (final channel) goes here: stdout. */
  answer: Out;
  /** Reasoning, tool calls, notices and stats: stderr for `generate`, the terminal for chat. */
  side: Out;
  color: boolean;
}

const dim = (on: boolean, s: string) => (on ? `\x1b[2m${s}\x1b[22m` : s);
const bold = (on: boolean, s: string) => (on ? `\x1b[1m${s}\x1b[22m` : s);

/**
 * Prints a generation: reasoning (analysis channel) dimmed and apart from the answer, the answer (final channel)
 * plainly. A model whose output never forms a harmony message (random weights do that) is shown as raw decoded text
 * after a few tokens, so the user sees what it produced instead of nothing.
 */
export class EventPrinter {
  #tokens: number[] = [];
  #raw = false;
  #rawShown = '';
  #sawMessage = false;
  #channel: string | undefined;
  #lineOpen = false;
  answerText = '';
  stats: GenerationStats | undefined;

  constructor(
    private readonly t: RenderTarget,
    private readonly tokenizer: Tokenizer,
    private readonly rawAfter = 16,
  ) {}

  on(ev: GenerateEvent): void {
    const { t } = this;
    switch (ev.type) {
      case 'token':
        this.#tokens.push(ev.token);
        if (!this.#sawMessage && !this.#raw && this.#tokens.length >= this.rawAfter) {
          this.#raw = true;
          t.side.write(dim(t.color, '[output is not in harmony format; showing raw text]\n'));
        }
        if (this.#raw) {
          const text = this.tokenizer.decode(this.#tokens);
          // Only print what is stable: a trailing U+FFFD may be half of a multi-byte character.
          const stable = text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
          if (stable.startsWith(this.#rawShown)) {
            t.answer.write(stable.slice(this.#rawShown.length));
            this.#rawShown = stable;
          }
        }
        break;
      case 'message-start':
        this.#sawMessage = true;
        if (this.#raw) break;
        this.#channel = ev.channel;
        if (ev.channel === 'analysis') t.side.write(dim(t.color, 'thinking: '));
        else if (ev.recipient) t.side.write(dim(t.color, `[call ${ev.recipient}${ev.contentType ? ` ${ev.contentType}` : ''}] `));
        else if (ev.channel && ev.channel !== 'final') t.side.write(dim(t.color, `[${ev.channel}] `));
        this.#lineOpen = true;
        break;
      case 'content-delta':
        if (this.#raw) break;
        if (this.#channel === 'final' || (this.#channel === undefined && !ev.recipient)) {
          t.answer.write(ev.delta);
          this.answerText += ev.delta;
        } else {
          t.side.write(dim(t.color, ev.delta));
        }
        break;
      case 'message-end':
        if (this.#raw) break;
        if (this.#channel === 'final' || this.#channel === undefined) t.answer.write('\n');
        else t.side.write('\n');
        this.#lineOpen = false;
        break;
      case 'done':
        this.stats = ev.stats;
        if (this.#raw) {
          t.answer.write('\n');
        } else if (this.#lineOpen) {
          (this.#channel === 'final' ? t.answer : t.side).write('\n');
          this.#lineOpen = false;
        }
        if (this.#raw) this.answerText = this.#rawShown;
        break;
    }
  }

  /** One line: prompt/prefill and decode speed. */
  summary(backend: string): string {
    const s = this.stats;
    if (!s) return '';
    const prefilled = s.promptTokens - s.cachedTokens;
    return dim(
      this.t.color,
      `[${backend}] prompt ${s.promptTokens} tok (${s.cachedTokens} cached, ${prefilled} prefilled at ${s.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
        `generated ${s.completionTokens} tok at ${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
    );
  }
}

export { bold, dim };
