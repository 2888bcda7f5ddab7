// Property tests: render → parse round trips, streaming equals batch, the lenient parser never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Author, Conversation, loadHarmonyEncoding, Message, parseStream, StreamableParser, type Role } from '../src/index.js';
import { Utf8Stream } from '../src/parse/utf8-stream.js';
import { pushAll, replayEvents } from './helpers.js';

const enc = loadHarmonyEncoding();

const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/);
const dotted = fc.tuple(word, word).map(([a, b]) => `${a}.${b}`);
// Any Unicode text, including special-token look-alikes ("<|end|>" is plain text when rendered).
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('<|end|>', '<|start|>assistant', ' to=x <|constrain|>json', '💖\u0000\r\n', 'naïve nai\u0308ve'),
);

// Header fields are generated only where harmony's header grammar can carry them back unambiguously: a content
// type needs a recipient, a tool author needs a recipient, author names only for tools, recipient never "all".
const message: fc.Arbitrary<Message> = fc
  .record({
    role: fc.constantFrom<Role>('user', 'assistant', 'system', 'developer', 'tool'),
    toolName: fc.oneof(dotted, fc.constantFrom('python', 'functions.get_weather', 'browser.search')),
    channel: fc.option(fc.oneof(fc.constantFrom('analysis', 'commentary', 'final'), word), { nil: undefined }),
    recipient: fc.option(fc.oneof(dotted, fc.constantFrom('assistant', 'python')), { nil: undefined }),
    contentType: fc.option(fc.oneof(word, word.map((w) => `<|constrain|>${w}`), fc.constant('<|constrain|>')), { nil: undefined }),
    body: text,
  })
  .map(({ role, toolName, channel, recipient, contentType, body }) => {
    const author = role === 'tool' ? new Author('tool', toolName) : new Author(role);
    const to = role === 'tool' ? (recipient ?? 'assistant') : recipient;
    return new Message({ author, content: body, channel, recipient: to, contentType: to === undefined ? undefined : contentType });
  });

const conversation = fc.array(message, { minLength: 0, maxLength: 6 });

describe('properties', () => {
  it('render → strict parse gives the messages back', () => {
    fc.assert(
      fc.property(conversation, (messages) => {
        const tokens = enc.renderConversation(Conversation.fromMessages(messages), { autoDropAnalysis: false });
        const parsed = enc.parseMessagesFromCompletionTokens(tokens, null);
        expect(parsed.map((m) => m.toJSON())).toEqual(messages.map((m) => m.toJSON()));
      }),
      { numRuns: 300 },
    );
  });

  it('completion prompt + sampled tokens parse with the preset role', () => {
    fc.assert(
      fc.property(conversation, message, (history, reply) => {
        const asAssistant = reply.withAuthor(new Author('assistant'));
        const rendered = enc.render(asAssistant);
        // The model's output starts right after the prompt's `<|start|>assistant`.
        const completion = rendered.slice(2);
        const parsed = enc.parseMessagesFromCompletionTokens(completion, 'assistant');
        expect(parsed.map((m) => m.toJSON())).toEqual([asAssistant.toJSON()]);
        const prompt = enc.renderConversationForCompletion(history, 'assistant');
        expect(prompt.slice(-2)).toEqual(rendered.slice(0, 2));
      }),
      { numRuns: 200 },
    );
  });

  it('lenient parsing equals strict parsing on well-formed streams; messages survive JSON', () => {
    fc.assert(
      fc.property(conversation, (messages) => {
        const tokens = enc.renderConversation(messages, { autoDropAnalysis: false });
        const strict = enc.parseMessagesFromCompletionTokens(tokens, null).map((m) => m.toJSON());
        expect(enc.parseMessagesFromCompletionTokens(tokens, null, { strict: false }).map((m) => m.toJSON())).toEqual(strict);
        const viaJson = Conversation.fromJSON(JSON.stringify(Conversation.fromMessages(messages)));
        expect(enc.renderConversation(viaJson, { autoDropAnalysis: false })).toEqual(tokens);
      }),
      { numRuns: 200 },
    );
  });

  it('the streaming parser fed token by token equals the batch parser (strict and lenient)', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, fc.boolean(), async (messages, strict) => {
        const tokens = enc.renderConversation(messages, { autoDropAnalysis: false });
        const batch = enc.parseMessagesFromCompletionTokens(tokens, null, { strict }).map((m) => m.toJSON());
        const parser = new StreamableParser(enc, null, { strict });
        const replay = replayEvents(pushAll(parser, tokens, true));
        expect(parser.messages.map((m) => m.toJSON())).toEqual(batch);
        expect(replay.messages.map((m) => m.toJSON())).toEqual(batch);
        expect(replay.texts).toEqual(batch.map((m) => (m.content as { text: string }[])[0].text));
        const fromStream = [];
        for await (const e of parseStream(enc, tokens, { strict })) if (e.type === 'message-end') fromStream.push(e.message.toJSON());
        expect(fromStream).toEqual(batch);
      }),
      { numRuns: 150 },
    );
  });

  it('the lenient parser never throws, streams like the batch parser, and keeps events consistent', () => {
    const special = fc.constantFrom(200006, 200007, 200008, 200005, 200003, 200002, 200012, 199998, 199999, 200014, 201088);
    const format = fc.constantFrom(173781, 1428, 17360, 35644, 17196, 12606, 815, 316, 28, 220, 4108, 3490, 5701);
    const textTok = fc.integer({ min: 0, max: 199997 });
    const broken = fc.constantFrom(9552, 31446, 244, 132990, -1, 201089, 4294967295, 0.5, Number.NaN, 1e12);
    const token = fc.oneof({ weight: 4, arbitrary: special }, { weight: 4, arbitrary: format }, { weight: 3, arbitrary: textTok }, { weight: 1, arbitrary: broken });
    const role = fc.constantFrom<Role | null>(null, 'assistant', 'user', 'tool');
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), role, (tokens, r) => {
        const batch = enc.parseMessagesFromCompletionTokens(tokens, r, { strict: false });
        const parser = new StreamableParser(enc, r, { strict: false });
        const events = pushAll(parser, tokens, true);
        expect(parser.messages.map((m) => m.toJSON())).toEqual(batch.map((m) => m.toJSON()));
        const replay = replayEvents(events);
        expect(replay.texts).toEqual(batch.map((m) => m.text));
        for (const m of batch) expect(() => enc.render(m.author.role === 'tool' && m.author.name === undefined ? m.withAuthor(new Author('assistant')) : m)).not.toThrow();
      }),
      { numRuns: 1500 },
    );
  });

  it('incremental UTF-8 decoding equals TextDecoder in stream mode, chunk by chunk', () => {
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff),
    );
    const chunk = fc.array(byte, { maxLength: 6 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), (chunks) => {
        const ref = new TextDecoder('utf-8', { ignoreBOM: true });
        const ours = new Utf8Stream(enc.tokenizer);
        for (const c of chunks) expect(ours.pushBytes(c)).toBe(ref.decode(c, { stream: true }));
        expect(ours.flush()).toBe(ref.decode());
      }),
      { numRuns: 3000 },
    );
  });
});
