import { describe, expect, it } from 'vitest';
import { HarmonyParseError, loadHarmonyEncoding, parseStream, StreamableParser, type HarmonyEvent } from '../src/index.js';

const enc = loadHarmonyEncoding();
const toks = (s: string) => enc.encode(s, { allowedSpecial: 'all' });
const lenient = (s: string, role: 'assistant' | null = 'assistant') =>
  enc.parseMessagesFromCompletionTokens(toks(s), role, { strict: false }).map((m) => m.toJSON());

describe('StreamableParser state and events', () => {
  it('exposes the current header, content and deltas while streaming', () => {
    const p = new StreamableParser(enc, 'assistant');
    expect(p.state).toBe('Header');
    expect(p.currentRole).toBe('assistant');
    const tokens = toks('<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{"a":1}<|call|>');
    const events: HarmonyEvent[] = [];
    for (const t of tokens.slice(0, -1)) events.push(...p.push(t));
    expect(p.state).toBe('Content');
    expect(p.currentChannel).toBe('commentary');
    expect(p.currentRecipient).toBe('functions.get_weather');
    expect(p.currentContentType).toBe('<|constrain|>json');
    expect(p.currentContent).toBe('{"a":1}');
    events.push(...p.push(tokens[tokens.length - 1]));
    expect(p.state).toBe('ExpectStart');
    expect(p.currentRole).toBeUndefined();
    expect(events[0]).toEqual({
      type: 'message-start',
      index: 0,
      role: 'assistant',
      channel: 'commentary',
      recipient: 'functions.get_weather',
      contentType: '<|constrain|>json',
    });
    const deltas = events.filter((e) => e.type === 'content-delta');
    expect(deltas.map((e) => e.delta).join('')).toBe('{"a":1}');
    expect(deltas.every((e) => e.channel === 'commentary' && e.recipient === 'functions.get_weather')).toBe(true);
    const end = events[events.length - 1];
    expect(end.type === 'message-end' && end.stopToken).toBe(200012);
    expect(p.end()).toEqual([]);
  });

  it('the end of the stream completes the last message (message-end without stopToken)', () => {
    const p = new StreamableParser(enc, null);
    for (const t of toks('<|start|>assistant<|channel|>final<|message|>Hel')) p.push(t);
    const events = p.end();
    expect(events).toEqual([{ type: 'message-end', index: 0, message: p.messages[0] }]);
    expect(p.messages[0].text).toBe('Hel');
  });

  it('parseStream turns an async token stream into events and returns the messages', async () => {
    async function* source() {
      for (const t of toks('<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final<|message|>Hi!<|return|>')) yield t;
    }
    const events: HarmonyEvent[] = [];
    const it = parseStream(enc, source(), { role: 'assistant' });
    for (let r = await it.next(); ; r = await it.next()) {
      if (r.done) {
        expect(r.value.map((m) => m.text)).toEqual(['think', 'Hi!']);
        break;
      }
      events.push(r.value);
    }
    expect(events.map((e) => e.type)).toEqual([
      'message-start',
      'content-delta',
      'message-end',
      'message-start',
      'content-delta',
      'content-delta',
      'message-end',
    ]);
    const final = events.filter((e) => e.type === 'content-delta' && e.channel === 'final').map((e) => (e as { delta: string }).delta);
    expect(final.join('')).toBe('Hi!');
  });

  it('encoding.parseStream is the same helper', async () => {
    const types: string[] = [];
    for await (const e of enc.parseStream(toks('<|start|>user<|message|>hi<|end|>'))) types.push(e.type);
    expect(types).toEqual(['message-start', 'content-delta', 'message-end']);
  });

  it('strict errors carry the token index', () => {
    const p = new StreamableParser(enc, null);
    expect(() => p.process(24912)).toThrow(HarmonyParseError);
    try {
      new StreamableParser(enc, null).process(200006).process(200008);
    } catch (e) {
      expect(e).toBeInstanceOf(HarmonyParseError);
      expect((e as HarmonyParseError).tokenIndex).toBe(1);
      expect((e as Error).message).toMatch(/did not contain a role/);
    }
    expect(() => enc.parseMessagesFromCompletionTokens(toks('<|start|>functions.x<|message|>hi'), null)).toThrow(/Unknown role/);
    expect(() => enc.parseMessagesFromCompletionTokens(toks('<|start|>assistant<|channel|><|message|>hi'), null)).toThrow(
      /no channel value/,
    );
  });
});

describe('lenient parsing ({ strict: false }) of malformed model output', () => {
  it('missing <|start|>assistant before a channel', () => {
    expect(lenient('<|channel|>analysis<|message|>a<|end|><|channel|>final<|message|>b<|return|>')).toEqual([
      { role: 'assistant', channel: 'analysis', content: [{ type: 'text', text: 'a' }] },
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'b' }] },
    ]);
  });

  it('missing <|start|> but the role is there', () => {
    expect(lenient('<|channel|>analysis<|message|>a<|end|>assistant<|channel|>final<|message|>b')).toEqual([
      { role: 'assistant', channel: 'analysis', content: [{ type: 'text', text: 'a' }] },
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'b' }] },
    ]);
  });

  it('junk text before a header becomes its own message, then the header parses', () => {
    expect(lenient('<|channel|>final<|message|>a<|end|>oops<|start|>assistant<|channel|>final<|message|>b<|end|>')).toEqual([
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'a' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'oops' }] },
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'b' }] },
    ]);
  });

  it('stray stop tokens, a doubled <|start|>, an empty channel, unknown channels, extra header words', () => {
    expect(lenient('<|end|><|start|><|start|>assistant<|channel|><|message|>x<|end|>', null)).toEqual([
      { role: 'assistant', content: [{ type: 'text', text: 'x' }] },
    ]);
    expect(lenient('<|channel|>thoughts<|message|>x<|end|>')).toEqual([
      { role: 'assistant', channel: 'thoughts', content: [{ type: 'text', text: 'x' }] },
    ]);
    expect(lenient('<|start|>assistant blah to=functions.f json<|message|>{}<|call|>', null)).toEqual([
      { role: 'assistant', recipient: 'functions.f', content_type: 'json', content: [{ type: 'text', text: '{}' }] },
    ]);
    expect(lenient('<|start|>functions.f<|message|>out<|end|>', null)).toEqual([
      { role: 'tool', name: 'functions.f', content: [{ type: 'text', text: 'out' }] },
    ]);
  });

  it('a later message missing <|message|> keeps its text (openai/harmony drops it)', () => {
    expect(lenient('<|channel|>analysis<|message|>think<|end|><|start|>assistant<|channel|>final The answer is 4<|return|>')).toEqual([
      { role: 'assistant', channel: 'analysis', content: [{ type: 'text', text: 'think' }] },
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'The answer is 4' }] },
    ]);
    expect(lenient('<|start|>user<|channel|>x hello there<|end|>', null)).toEqual([
      { role: 'user', channel: 'x', content: [{ type: 'text', text: 'hello there' }] },
    ]);
    // A header with nothing but a role and channel is not worth a message.
    expect(lenient('<|start|>assistant<|channel|>final<|end|>', null)).toEqual([]);
  });

  it('truncated streams: inside a header with text, inside content, right after <|start|>', () => {
    expect(lenient('<|channel|>final I refuse')).toEqual([
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'I refuse' }] },
    ]);
    expect(lenient('<|channel|>final<|message|>partial answ')).toEqual([
      { role: 'assistant', channel: 'final', content: [{ type: 'text', text: 'partial answ' }] },
    ]);
    expect(lenient('<|channel|>final<|message|>done<|return|><|start|>', null)).toHaveLength(1);
    expect(lenient('<|channel|>final<|message|>done<|return|><|start|>assistant<|channel|>fi')).toHaveLength(1);
  });

  it('unknown token ids and broken UTF-8 become U+FFFD, in headers and in content', () => {
    const bad = [200006, 173781, 200005, 4294967295, 200008, 9552, 1e9, 12194, 200007];
    expect(enc.parseMessagesFromCompletionTokens(bad, null, { strict: false }).map((m) => m.toJSON())).toEqual([
      { role: 'assistant', channel: '\uFFFD', content: [{ type: 'text', text: ' \uFFFD\uFFFDHi' }] },
    ]);
    expect(() => enc.parseMessagesFromCompletionTokens([200006, -1, 0.5, NaN, 200008, NaN], null, { strict: false })).not.toThrow();
  });
});
