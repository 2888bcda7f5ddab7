import type { GenerateEvent, GenerationStats } from '@gptoss/runtime';
import { Conversation, Message, type HarmonyEncoding, type Tokenizer } from '@gptoss/harmony';
import { CitationStream, type AgentEvent } from '@gptoss/tools';

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

/** How tool activity is shown. */
export interface ToolDisplay {
  /** Page stack of the conversation's browser: final-channel citations `【3†L1】` become ` ([domain](url)) `. */
  citations?: () => readonly string[];
  /** Print what the browser returned instead of `[Search results fed to the model]`. */
  showBrowserResults?: boolean;
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
  #cite: CitationStream | undefined;
  answerText = '';
  stats: GenerationStats | undefined;

  constructor(
    private readonly t: RenderTarget,
    private readonly tokenizer: Tokenizer,
    private readonly rawAfter = 16,
    private readonly tools: ToolDisplay = {},
  ) {}

  /** Shows one event of a turn with tools (`runAgentTurn`): generation events, tool calls and their results. */
  onAgent(ev: AgentEvent<GenerateEvent>): void {
    const { t } = this;
    if (ev.type === 'tool-call') return; // the call itself was shown as it streamed
    if (ev.type === 'tool-result') {
      const browser = ev.call.recipient?.startsWith('browser.') || ev.call.recipient?.startsWith('functions.browser.');
      if (browser && !this.tools.showBrowserResults) {
        t.side.write(dim(t.color, '[Search results fed to the model]\n'));
        return;
      }
      for (const r of ev.replies) t.side.write(dim(t.color, `${r.author.name ?? 'tool'}: ${replyText(r).trimEnd()}\n`));
      return;
    }
    if (ev.type === 'agent-done') return;
    this.on(ev);
  }

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
        this.#cite = this.tools.citations && (ev.channel === 'final' || ev.channel === undefined) && !ev.recipient ? new CitationStream(this.tools.citations) : undefined;
        // A call is shown as a call even on the analysis channel (python and the browser are called from there).
        if (ev.recipient && ev.recipient !== 'assistant' && ev.recipient !== 'all') t.side.write(dim(t.color, `Tool call to ${ev.recipient}: `));
        else if (ev.channel === 'analysis') t.side.write(dim(t.color, 'thinking: '));
        else if (ev.channel && ev.channel !== 'final') t.side.write(dim(t.color, `[${ev.channel}] `));
        this.#lineOpen = true;
        break;
      case 'content-delta':
        if (this.#raw) break;
        if (this.#channel === 'final' || (this.#channel === undefined && !ev.recipient)) {
          // With the browser on, text is held back while it ends in an unfinished citation.
          const shown = this.#cite ? this.#cite.push(ev.delta).delta : ev.delta;
          t.answer.write(shown);
          this.answerText += shown;
        } else {
          t.side.write(dim(t.color, ev.delta));
        }
        break;
      case 'message-end':
        if (this.#raw) break;
        if (this.#cite) {
          const rest = this.#cite.end().delta;
          t.answer.write(rest);
          this.answerText += rest;
          this.#cite = undefined;
        }
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
    return statsLine(this.t.color, backend, this.stats);
  }
}

function statsLine(color: boolean, backend: string, s: GenerationStats | undefined): string {
  if (!s) return '';
  const prefilled = s.promptTokens - s.cachedTokens;
  return dim(
    color,
    `[${backend}] prompt ${s.promptTokens} tok (${s.cachedTokens} cached, ${prefilled} prefilled at ${s.prefillTokensPerSecond.toFixed(1)} tok/s), ` +
      `generated ${s.completionTokens} tok at ${s.decodeTokensPerSecond.toFixed(1)} tok/s`,
  );
}

/**
 * `chat --raw`: the harmony text itself, as the reference chat prints it: the rendered system/developer messages,
 * each user message, `<|start|>assistant` and every sampled token decoded (special tokens included), and the
 * rendered tool replies. Nothing else goes to `out`, so it reads as the exact text the model sees and writes.
 */
export class RawPrinter {
  #tokens: number[] = [];
  #shown = '';
  #inRound = false;
  readonly #assistantStart: string;
  readonly #userStart: string;
  readonly #userEnd: string;
  /** The decoded text of the last sampling round (what the turn said when it formed no harmony message). */
  answerText = '';
  stats: GenerationStats | undefined;

  constructor(
    private readonly out: Out,
    private readonly encoding: HarmonyEncoding,
    private readonly color = false,
  ) {
    const prompt = encoding.renderConversationForCompletion(Conversation.fromMessages([Message.fromRoleAndContent('user', '')]), 'assistant');
    this.#assistantStart = encoding.decode(prompt.slice(-2));
    const user = encoding.render(Message.fromRoleAndContent('user', ''));
    this.#userStart = encoding.decode(user.slice(0, -1));
    this.#userEnd = encoding.decode(user.slice(-1));
  }

  /** `<|start|>user<|message|>`: the prompt an interactive chat shows, so the typed text lands inside the message. */
  get userStart(): string {
    return this.#userStart;
  }

  /** The rendered messages (the preamble at start and after /reset). */
  messages(messages: readonly Message[]): void {
    this.out.write(this.encoding.decode(this.encoding.renderConversation(Conversation.fromMessages([...messages]))));
  }

  /** A user message: its end only when the terminal already showed {@link userStart} and the typed text. */
  user(text: string, prompted: boolean): void {
    this.#inRound = false; // a turn stopped with Ctrl-C never saw its done event
    this.out.write(prompted ? this.#userEnd : `${this.#userStart}${text}${this.#userEnd}`);
  }

  onAgent(ev: AgentEvent<GenerateEvent>): void {
    switch (ev.type) {
      case 'tool-call':
      case 'agent-done':
        return;
      case 'tool-result':
        this.messages(ev.replies);
        return;
    }
    if (!this.#inRound) {
      this.#inRound = true;
      this.#tokens = [];
      this.#shown = '';
      this.out.write(this.#assistantStart);
    }
    if (ev.type === 'token') {
      this.#tokens.push(ev.token);
      const text = this.encoding.decode(this.#tokens);
      // Only print what is stable: a trailing U+FFFD may be half of a multi-byte character.
      this.#write(text.endsWith('\uFFFD') ? text.slice(0, -1) : text);
    } else if (ev.type === 'done') {
      this.#write(this.encoding.decode(this.#tokens));
      this.answerText = this.#shown;
      this.stats = ev.stats;
      this.#inRound = false;
    }
  }

  #write(text: string): void {
    if (!text.startsWith(this.#shown)) return;
    this.out.write(text.slice(this.#shown.length));
    this.#shown = text;
  }

  summary(backend: string): string {
    return statsLine(this.color, backend, this.stats);
  }
}

function replyText(m: Message): string {
  const c = m.content[0] as { text?: unknown } | undefined;
  return typeof c?.text === 'string' ? c.text : '';
}

export { bold, dim };
