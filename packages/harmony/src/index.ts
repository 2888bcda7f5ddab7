export { GptossError, HarmonyError, HarmonyRenderError, HarmonyParseError, HarmonyDecodeError, HarmonyEncodeError, HarmonyValidationError } from './errors.js';
export { Tokenizer, getTokenizer, SpecialTokens, pretokenize } from './tokenizer/index.js';
export type { EncodeOptions } from './tokenizer/index.js';
export { Role, isRole, Author, TextContent, Message, Conversation } from './model/message.js';
export type { Content, MessageFields } from './model/message.js';
export { ReasoningEffort, ChannelConfig, SystemContent } from './model/system-content.js';
export type { SystemContentFields } from './model/system-content.js';
export { DeveloperContent } from './model/developer-content.js';
export { ToolDescription, ToolNamespaceConfig } from './model/tools.js';
export type { ToolNamespaces } from './model/tools.js';
export { HarmonyEncoding, HarmonyEncodingName, loadHarmonyEncoding } from './encoding.js';
export type { RenderConversationConfig, RenderOptions } from './encoding.js';
export { jsonSchemaToTypeScript } from './render/json-schema-to-typescript.js';
export { StreamableParser, parseStream } from './parse/streamable-parser.js';
export type {
  StreamState,
  ParseOptions,
  HarmonyEvent,
  MessageStartEvent,
  ContentDeltaEvent,
  MessageEndEvent,
} from './parse/streamable-parser.js';
