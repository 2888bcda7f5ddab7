import { Author, Message, ToolNamespaceConfig } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import { GptossError, ToolChannelMismatchError } from '../src/errors.js';
import { BaseTool, errorText, messageText, toolMessage, withCallerChannel } from '../src/tool.js';
import type { ToolProcessOptions } from '../src/tool.js';

const call = (text: string, channel?: string) => {
  let m = Message.fromRoleAndContent('assistant', text).withRecipient('echo');
  if (channel !== undefined) m = m.withChannel(channel);
  return m;
};

class EchoTool extends BaseTool {
  readonly name = 'echo';
  constructor(private readonly behaviour: 'echo' | 'throw' | 'wrong-channel' | 'explicit-channel' = 'echo') {
    super();
  }
  toolConfig(): ToolNamespaceConfig {
    return new ToolNamespaceConfig('echo', 'Echoes.', []);
  }
  protected async *run(message: Message, _opts: ToolProcessOptions): AsyncIterable<Message> {
    if (this.behaviour === 'throw') throw new Error('boom');
    if (this.behaviour === 'wrong-channel') {
      yield toolMessage('echo', 'x', { channel: 'final' });
      return;
    }
    if (this.behaviour === 'explicit-channel') {
      yield toolMessage('echo', 'x', { channel: message.channel! });
      return;
    }
    yield toolMessage('echo', messageText(message)); // no channel: inherits the caller's
  }
}

async function collect(it: AsyncIterable<Message>): Promise<Message[]> {
  const out: Message[] = [];
  for await (const m of it) out.push(m);
  return out;
}

describe('common tool contract (SPEC §5.1)', () => {
  test('toolMessage: tool author with the name, recipient assistant, one text item', () => {
    const m = toolMessage('browser.search', 'hello', { channel: 'analysis' });
    expect(m.author.role).toBe('tool');
    expect(m.author.name).toBe('browser.search');
    expect(m.recipient).toBe('assistant');
    expect(m.channel).toBe('analysis');
    expect(m.content).toEqual([{ type: 'text', text: 'hello' }]);
    expect(toolMessage('python', 'x').channel).toBeUndefined();
  });

  test('a reply without a channel takes the caller\'s', async () => {
    const [reply] = await collect(new EchoTool().process(call('hi', 'analysis')));
    expect(reply!.channel).toBe('analysis');
    expect(reply!.content).toEqual([{ type: 'text', text: 'hi' }]);
    expect(reply!.toJSON()).toEqual({
      role: 'tool',
      name: 'echo',
      content: [{ type: 'text', text: 'hi' }],
      channel: 'analysis',
      recipient: 'assistant',
    });
  });

  test('a reply on the caller\'s channel is kept; a caller without channel gives a reply without one', async () => {
    expect((await collect(new EchoTool('explicit-channel').process(call('x', 'commentary'))))[0]!.channel).toBe('commentary');
    expect((await collect(new EchoTool().process(call('x'))))[0]!.channel).toBeUndefined();
  });

  test('a reply on a different channel is an error', async () => {
    await expect(collect(new EchoTool('wrong-channel').process(call('x', 'analysis')))).rejects.toThrow(
      ToolChannelMismatchError,
    );
    expect(() => withCallerChannel(toolMessage('t', 'x', { channel: 'final' }), call('x', 'analysis'))).toThrow(
      /expected "analysis", found "final"/,
    );
  });

  test('a failing tool answers the model with an error message instead of crashing', async () => {
    const replies = await collect(new EchoTool('throw').process(call('x', 'analysis')));
    expect(replies).toHaveLength(1);
    expect(replies[0]!.author).toEqual(new Author('tool', 'echo'));
    expect(replies[0]!.channel).toBe('analysis');
    expect(messageText(replies[0]!)).toBe('[ERROR] Error: boom');
  });

  test('errorText', () => {
    expect(errorText(new GptossError('bad input'))).toBe('[ERROR] bad input');
    expect(errorText('weird')).toBe('[ERROR] weird');
  });

  test('GptossError.isInstance works across copies through the shared marker', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('gptoss.error')]: true });
    expect(GptossError.isInstance(foreign)).toBe(true);
    expect(GptossError.isInstance(new ToolChannelMismatchError('a', 'b'))).toBe(true);
    expect(GptossError.isInstance(new Error('x'))).toBe(false);
  });
});
