// Some openai/harmony tests rebuilt with the TypeScript builder API (as a user would write them), checked against
// the expected text of the same case in harmony-cases.json.
import { describe, expect, it } from 'vitest';
import {
  Author,
  Conversation,
  DeveloperContent,
  loadHarmonyEncoding,
  Message,
  ReasoningEffort,
  Role,
  SystemContent,
  ToolDescription,
} from '../src/index.js';
import { loadCases } from './helpers.js';

const enc = loadHarmonyEncoding();
const expected = new Map(loadCases().map((c) => [c.name, c.expected_text as string]));

describe('openai/harmony tests rebuilt with builders', () => {
  it('test_render_functions_with_parameters', () => {
    const sys = SystemContent.new().withReasoningEffort(ReasoningEffort.HIGH).withConversationStartDate('2025-06-28');
    const dev = DeveloperContent.new()
      .withInstructions('Always respond in riddles')
      .withFunctionTools([
        ToolDescription.new('get_location', 'Gets the location of the user.'),
        ToolDescription.new('get_current_weather', 'Gets the current weather in the provided location.', {
          type: 'object',
          properties: {
            location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
            format: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
          },
          required: ['location'],
        }),
        ToolDescription.new('get_multiple_weathers', 'Gets the current weather in the provided list of locations.', {
          type: 'object',
          properties: {
            locations: {
              type: 'array',
              items: { type: 'string' },
              description: 'List of city and state, e.g. ["San Francisco, CA", "New York, NY"]',
            },
            format: { type: 'string', enum: ['celsius', 'fahrenheit'], default: 'celsius' },
          },
          required: ['locations'],
        }),
        ToolDescription.new('kitchensink', 'A function with various complex schemas.', {
          description: 'params object',
          type: 'object',
          properties: {
            string: { type: 'string', title: 'STRING', description: 'A string', examples: ['hello', 'world'] },
            string_nullable: { type: 'string', nullable: true, description: 'A nullable string', default: 'the default' },
            string_enum: { type: 'string', enum: ['a', 'b', 'c'] },
            oneof_string_or_number: {
              oneOf: [
                { type: 'string', default: 'default_string_in_oneof' },
                { type: 'number', description: 'numbers can happen too' },
              ],
              description: 'a oneof',
              default: 20,
            },
          },
        }),
      ]);
    const convo = Conversation.fromMessages([
      Message.fromRoleAndContent(Role.SYSTEM, sys),
      Message.fromRoleAndContent(Role.DEVELOPER, dev),
      Message.fromRoleAndContent(Role.USER, 'What is the weather like in SF?'),
    ]);
    const tokens = enc.renderConversationForCompletion(convo, Role.ASSISTANT);
    expect(enc.decodeUtf8(tokens)).toBe(expected.get('tests/test_harmony.py::test_render_functions_with_parameters'));
  });

  it('test_browser_and_python_tool', () => {
    const sys = SystemContent.new().withConversationStartDate('2025-06-28').withBrowserTool().withPythonTool();
    const tokens = enc.renderConversationForCompletion([Message.fromRoleAndContent('system', sys)], 'assistant');
    expect(enc.decodeUtf8(tokens)).toBe(expected.get('tests/test_harmony.py::test_browser_and_python_tool'));
  });

  it('test_reasoning_system_message_with_dates', () => {
    const sys = SystemContent.new()
      .withModelIdentity('You are ChatGPT, a large language model trained by OpenAI.')
      .withReasoningEffort('medium')
      .withConversationStartDate('2021-01-01')
      .withKnowledgeCutoff('2021-01')
      .withRequiredChannels(['analysis', 'final']);
    const convo = [Message.fromRoleAndContent('system', sys), Message.fromRoleAndContent('user', 'What is 42 * pi?')];
    const tokens = enc.renderConversationForCompletion(convo, 'assistant', { autoDropAnalysis: false });
    expect(enc.decodeUtf8(tokens)).toBe(expected.get('src/tests.rs::test_reasoning_system_message_with_dates'));
  });

  it('test_does_not_drop_if_ongoing_analysis', () => {
    const convo = Conversation.fromMessages([
      Message.fromRoleAndContent('user', 'What is the weather in SF?'),
      Message.fromRoleAndContent('assistant', 'User asks: “What is the weather in SF?” We need to use lookup_weather tool.').withChannel('analysis'),
      Message.fromRoleAndContent('assistant', '{"location": "San Francisco"}')
        .withChannel('commentary')
        .withRecipient('functions.lookup_weather')
        .withContentType('<|constrain|>json'),
      Message.fromAuthorAndContent(Author.new('tool', 'functions.lookup_weather'), '{"temperature": 20, "description": "sunny"}'),
    ]);
    const tokens = enc.renderConversationForCompletion(convo, 'assistant');
    expect(enc.decodeUtf8(tokens)).toBe(expected.get('src/tests.rs::test_does_not_drop_if_ongoing_analysis'));
  });

  it('test_keep_analysis_between_final_messages', () => {
    const u = (t: string) => Message.fromRoleAndContent('user', t);
    const a = (t: string, ch: string) => Message.fromRoleAndContent('assistant', t).withChannel(ch);
    const convo = [u('What is 2 + 2?'), a('thinking 2+2', 'analysis'), a('4', 'final'), u('What is 3 + 5?'), a('thinking 3+5', 'analysis'), a('8', 'final')];
    expect(enc.decodeUtf8(enc.renderConversation(convo))).toBe(expected.get('tests/test_harmony.py::test_keep_analysis_between_final_messages'));
  });
});
