import { describe, expect, it } from 'vitest';
import {
  Author,
  ChannelConfig,
  Conversation,
  DeveloperContent,
  GptossError,
  HarmonyEncodingName,
  HarmonyError,
  HarmonyValidationError,
  loadHarmonyEncoding,
  Message,
  Role,
  SystemContent,
  ToolDescription,
  ToolNamespaceConfig,
} from '../src/index.js';

describe('SystemContent', () => {
  it('has harmony defaults and immutable builders', () => {
    const base = SystemContent.new();
    expect(base.modelIdentity).toBe('You are ChatGPT, a large language model trained by OpenAI.');
    expect(base.reasoningEffort).toBe('medium');
    expect(base.knowledgeCutoff).toBe('2024-06');
    expect(base.conversationStartDate).toBeUndefined();
    expect(base.channelConfig?.validChannels).toEqual(['analysis', 'commentary', 'final']);
    expect(base.channelConfig?.channelRequired).toBe(true);
    expect(base.tools).toBeUndefined();
    const changed = base.withReasoningEffort('high').withConversationStartDate('2025-06-28').withBrowserTool().withPythonTool();
    expect(base.reasoningEffort).toBe('medium');
    expect(changed.reasoningEffort).toBe('high');
    expect(Object.keys(changed.tools ?? {})).toEqual(['browser', 'python']);
    expect(changed.withRequiredChannels(['analysis', 'final']).channelConfig?.validChannels).toEqual(['analysis', 'final']);
  });

  it('serialises like Python to_dict and reads it back', () => {
    const sys = SystemContent.new().withConversationStartDate('2025-06-28').withPythonTool();
    const json = sys.toJSON();
    expect(json).toEqual({
      model_identity: 'You are ChatGPT, a large language model trained by OpenAI.',
      reasoning_effort: 'Medium',
      conversation_start_date: '2025-06-28',
      knowledge_cutoff: '2024-06',
      channel_config: { valid_channels: ['analysis', 'commentary', 'final'], channel_required: true },
      tools: { python: { name: 'python', description: ToolNamespaceConfig.python().description, tools: [] } },
      type: 'system_content',
    });
    expect(SystemContent.fromJSON(JSON.parse(JSON.stringify(json)))).toEqual(sys);
  });

  it('reads missing keys as defaults and null as unset (pydantic semantics)', () => {
    const a = SystemContent.fromJSON({ type: 'system_content' });
    expect(a).toEqual(SystemContent.new());
    const b = SystemContent.fromJSON({ model_identity: null, reasoning_effort: 'high', knowledge_cutoff: null });
    expect(b.modelIdentity).toBeUndefined();
    expect(b.knowledgeCutoff).toBeUndefined();
    expect(b.reasoningEffort).toBe('high');
    // Unset fields round-trip as explicit nulls instead of silently getting their defaults back.
    expect(SystemContent.fromJSON(b.toJSON())).toEqual(b);
  });

  it('rejects bad JSON with a message naming the field', () => {
    expect(() => SystemContent.fromJSON({ reasoning_effort: 'extreme' })).toThrow(/reasoning_effort.*"extreme"/);
    expect(() => SystemContent.fromJSON({ channel_config: { valid_channels: 'final' } })).toThrow(HarmonyValidationError);
  });
});

describe('DeveloperContent', () => {
  it('installs function tools in the functions namespace', () => {
    const tool = ToolDescription.new('get_weather', 'Gets the weather.', { type: 'object', properties: {} });
    const dev = DeveloperContent.new().withInstructions('Be brief.').withFunctionTools([tool]);
    expect(dev.tools?.functions.name).toBe('functions');
    expect(dev.tools?.functions.description).toBeUndefined();
    expect(dev.toJSON()).toEqual({
      instructions: 'Be brief.',
      tools: { functions: { name: 'functions', tools: [{ name: 'get_weather', description: 'Gets the weather.', parameters: { type: 'object', properties: {} } }] } },
      type: 'developer_content',
    });
    expect(DeveloperContent.fromJSON(dev.toJSON())).toEqual(dev);
    expect(DeveloperContent.fromJSON({ instructions: null, tools: null })).toEqual(DeveloperContent.new());
  });
});

describe('HarmonyEncoding basics', () => {
  it('lists the special tokens and knows the encoding name', () => {
    const enc = loadHarmonyEncoding();
    const specials = enc.specialTokens();
    expect(specials).toHaveLength(201088 - 199998 + 1);
    expect(specials).toContain('<|start|>');
    expect(specials.at(-1)).toBe('<|reserved_201088|>');
    expect(enc.name).toBe('HarmonyGptOss');
    expect(loadHarmonyEncoding(HarmonyEncodingName.HARMONY_GPT_OSS)).toBe(enc);
    expect(() => loadHarmonyEncoding('o200k' as never)).toThrow(/only one is "HarmonyGptOss"/);
  });
});

describe('ToolNamespaceConfig', () => {
  it('browser() and python() match openai/harmony', () => {
    const b = ToolNamespaceConfig.browser();
    expect(b.tools.map((t) => t.name)).toEqual(['search', 'open', 'find']);
    expect(b.description?.split('\n').at(-1)).toBe('sources=web (default: web)');
    const p = ToolNamespaceConfig.python();
    expect(p.tools).toEqual([]);
    expect(p.description).toContain('time out after 120.0 seconds');
    expect(ToolNamespaceConfig.fromJSON(JSON.parse(JSON.stringify(b)))).toEqual(b);
  });
});

describe('Message and Conversation', () => {
  it('builds messages like the Python API', () => {
    const m = Message.fromRoleAndContent(Role.ASSISTANT, '{"location":"Tokyo"}')
      .withChannel('commentary')
      .withRecipient('functions.get_weather')
      .withContentType('<|constrain|>json');
    expect(m.author).toEqual(new Author('assistant'));
    expect(m.content).toEqual([{ type: 'text', text: '{"location":"Tokyo"}' }]);
    expect(m.text).toBe('{"location":"Tokyo"}');
    expect(m.toJSON()).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: '{"location":"Tokyo"}' }],
      channel: 'commentary',
      recipient: 'functions.get_weather',
      content_type: '<|constrain|>json',
    });
    const tool = Message.fromAuthorAndContent(Author.new('tool', 'functions.get_weather'), 'sunny');
    expect(tool.toJSON()).toEqual({ role: 'tool', name: 'functions.get_weather', content: [{ type: 'text', text: 'sunny' }] });
    expect(m.addingContent('!').content).toHaveLength(2);
    expect(m.content).toHaveLength(1);
  });

  it('round-trips through JSON, including the Rust plain-string content shortcut and Python name: null', () => {
    const conv = Conversation.fromMessages([
      Message.fromRoleAndContent('system', SystemContent.new()),
      Message.fromRoleAndContent('developer', DeveloperContent.new().withInstructions('x')),
      Message.fromRoleAndContent('user', 'hi'),
    ]);
    const text = JSON.stringify(conv);
    expect(Conversation.fromJSON(text)).toEqual(conv);
    expect(Conversation.fromJSON(JSON.parse(text))).toEqual(conv);
    const m = Message.fromJSON({ role: 'user', name: null, content: 'plain', channel: null });
    expect(m).toEqual(Message.fromRoleAndContent('user', 'plain'));
    expect([...conv].length).toBe(3);
  });

  it('accepts plain content objects and turns snake_case system content into SystemContent', () => {
    const m = new Message({ author: new Author('system'), content: [{ type: 'system_content', reasoning_effort: 'Low' } as never] });
    expect(m.content[0]).toBeInstanceOf(SystemContent);
    expect((m.content[0] as SystemContent).reasoningEffort).toBe('low');
  });

  it('accepts SystemContent from another copy of the package (dual-package hazard)', () => {
    const original = SystemContent.new().withReasoningEffort('high').withKnowledgeCutoff(undefined).withRequiredChannels(['final']).withPythonTool();
    const foreign = { ...original, channelConfig: { ...original.channelConfig }, tools: { python: { ...original.tools!.python } } };
    const m = Message.fromRoleAndContent('system', foreign as never);
    expect(m.content[0]).toBeInstanceOf(SystemContent);
    expect(m.content[0]).toEqual(original);
  });

  it('accepts messages from another copy of the package', () => {
    const m = Message.fromAuthorAndContent(new Author('tool', 'python'), 'out').withChannel('analysis').withRecipient('assistant');
    const foreign = { author: { role: 'tool', name: 'python' }, content: [{ type: 'text', text: 'out' }], channel: 'analysis', recipient: 'assistant' };
    expect(Conversation.fromMessages([foreign as never]).messages[0]).toEqual(m);
  });

  it('validates at run time what TypeScript checks at compile time', () => {
    expect(() => Message.fromJSON({ role: 'robot', content: [] })).toThrow(/expected a role.*"robot"/);
    expect(() => Message.fromJSON({ role: 'user', content: [{ type: 'image' }] })).toThrow(/content\[0\]\.type/);
    expect(() => Conversation.fromMessages([SystemContent.new() as never])).toThrow(/expected a Message, found a SystemContent/);
    expect(() => Conversation.fromJSON('{')).toThrow(HarmonyValidationError);
  });

  it('errors share the GptossError marker', () => {
    const e = new HarmonyValidationError('x');
    expect(GptossError.isInstance(e)).toBe(true);
    expect(HarmonyError.isInstance(e)).toBe(true);
    expect(HarmonyError.isInstance(new GptossError('y'))).toBe(false);
    expect(e.name).toBe('HarmonyValidationError');
    expect(ChannelConfig.requireChannels(['final']).toJSON()).toEqual({ valid_channels: ['final'], channel_required: true });
  });
});
