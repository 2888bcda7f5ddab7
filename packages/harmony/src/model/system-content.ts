import { HarmonyValidationError } from '../errors.js';
import { describe, expectObject, optString } from './json-util.js';
import { ToolNamespaceConfig, toolsFromJSON, toolsToJSON, type ToolNamespaces } from './tools.js';

/** How much the model should think. Lower-case in the prompt (`Reasoning: medium`). */
export type ReasoningEffort = 'low' | 'medium' | 'high';
/** Named values of {@link ReasoningEffort}, like Python's `ReasoningEffort.MEDIUM`. */
export const ReasoningEffort = { LOW: 'low', MEDIUM: 'medium', HIGH: 'high' } as const;

const EFFORT_JSON: Record<ReasoningEffort, string> = { low: 'Low', medium: 'Medium', high: 'High' };

/** @internal Accepts `low`/`Low`/`LOW`, …; Python serialises the enum as `"Medium"`. */
export function parseReasoningEffort(v: unknown, what: string): ReasoningEffort {
  if (typeof v === 'string') {
    const lower = v.toLowerCase();
    if (lower === 'low' || lower === 'medium' || lower === 'high') return lower;
  }
  throw new HarmonyValidationError(`${what}: expected one of "low", "medium", "high", found ${describe(v)}.`);
}

/** Which channels the model may use, and whether every message must name one. */
export class ChannelConfig {
  readonly validChannels: readonly string[];
  readonly channelRequired: boolean;

  constructor(validChannels: readonly string[], channelRequired: boolean) {
    this.validChannels = [...validChannels];
    this.channelRequired = channelRequired;
  }

  static requireChannels(channels: readonly string[]): ChannelConfig {
    return new ChannelConfig(channels, true);
  }

  toJSON(): { valid_channels: string[]; channel_required: boolean } {
    return { valid_channels: [...this.validChannels], channel_required: this.channelRequired };
  }

  static fromJSON(raw: unknown): ChannelConfig {
    if (raw instanceof ChannelConfig) return raw;
    let o = expectObject(raw, 'ChannelConfig');
    // An instance from another copy of this package (camelCase fields) is accepted too.
    if ('validChannels' in o) o = { valid_channels: o.validChannels, channel_required: o.channelRequired };
    const vc = o.valid_channels;
    if (!Array.isArray(vc) || !vc.every((c) => typeof c === 'string')) {
      throw new HarmonyValidationError(`ChannelConfig.valid_channels: expected an array of strings, found ${describe(vc)}.`);
    }
    const req = o.channel_required;
    if (typeof req !== 'boolean') {
      throw new HarmonyValidationError(`ChannelConfig.channel_required: expected a boolean, found ${describe(req)}.`);
    }
    return new ChannelConfig(vc as string[], req);
  }
}

/** Fields of {@link SystemContent}; `undefined` means "not set" (the line is not rendered). */
export interface SystemContentFields {
  modelIdentity?: string | undefined;
  reasoningEffort?: ReasoningEffort | undefined;
  conversationStartDate?: string | undefined;
  knowledgeCutoff?: string | undefined;
  channelConfig?: ChannelConfig | undefined;
  tools?: ToolNamespaces | undefined;
}

const DEFAULT_IDENTITY = 'You are ChatGPT, a large language model trained by OpenAI.';

/**
 * Content of the system message: model identity, reasoning effort, knowledge cutoff, current date, channel
 * config and built-in tools. Immutable: every `with*` returns a copy.
 *
 * @example
 * const sys = SystemContent.new().withReasoningEffort('high').withConversationStartDate('2025-06-28').withBrowserTool();
 */
export class SystemContent {
  readonly type = 'system_content' as const;
  readonly modelIdentity: string | undefined;
  readonly reasoningEffort: ReasoningEffort | undefined;
  readonly conversationStartDate: string | undefined;
  readonly knowledgeCutoff: string | undefined;
  readonly channelConfig: ChannelConfig | undefined;
  readonly tools: ToolNamespaces | undefined;

  /** Every field as given (unset fields stay unset). Use {@link SystemContent.new} for harmony's defaults. */
  constructor(fields: SystemContentFields = {}) {
    this.modelIdentity = fields.modelIdentity;
    this.reasoningEffort = fields.reasoningEffort;
    this.conversationStartDate = fields.conversationStartDate;
    this.knowledgeCutoff = fields.knowledgeCutoff;
    this.channelConfig = fields.channelConfig;
    this.tools = fields.tools === undefined ? undefined : Object.freeze({ ...fields.tools });
  }

  /**
   * Harmony's defaults: the ChatGPT identity, medium effort, knowledge cutoff 2024-06, no date, channels
   * analysis/commentary/final required, no tools.
   */
  static new(): SystemContent {
    return new SystemContent({
      modelIdentity: DEFAULT_IDENTITY,
      reasoningEffort: 'medium',
      knowledgeCutoff: '2024-06',
      channelConfig: ChannelConfig.requireChannels(['analysis', 'commentary', 'final']),
    });
  }

  #with(patch: SystemContentFields): SystemContent {
    return new SystemContent({ ...this.#fields(), ...patch });
  }

  #fields(): SystemContentFields {
    return {
      modelIdentity: this.modelIdentity,
      reasoningEffort: this.reasoningEffort,
      conversationStartDate: this.conversationStartDate,
      knowledgeCutoff: this.knowledgeCutoff,
      channelConfig: this.channelConfig,
      tools: this.tools,
    };
  }

  withModelIdentity(modelIdentity: string | undefined): SystemContent {
    return this.#with({ modelIdentity });
  }
  withReasoningEffort(reasoningEffort: ReasoningEffort | undefined): SystemContent {
    return this.#with({ reasoningEffort });
  }
  withConversationStartDate(conversationStartDate: string | undefined): SystemContent {
    return this.#with({ conversationStartDate });
  }
  withKnowledgeCutoff(knowledgeCutoff: string | undefined): SystemContent {
    return this.#with({ knowledgeCutoff });
  }
  withChannelConfig(channelConfig: ChannelConfig | undefined): SystemContent {
    return this.#with({ channelConfig });
  }
  withRequiredChannels(channels: readonly string[]): SystemContent {
    return this.#with({ channelConfig: ChannelConfig.requireChannels(channels) });
  }
  /** Adds (or replaces) the namespace `ns.name`. */
  withTools(ns: ToolNamespaceConfig): SystemContent {
    return this.#with({ tools: { ...(this.tools ?? {}), [ns.name]: ns } });
  }
  /** Adds the built-in browser namespace ({@link ToolNamespaceConfig.browser}). */
  withBrowserTool(): SystemContent {
    return this.withTools(ToolNamespaceConfig.browser());
  }
  /** Adds the built-in python namespace ({@link ToolNamespaceConfig.python}). */
  withPythonTool(): SystemContent {
    return this.withTools(ToolNamespaceConfig.python());
  }

  /**
   * Python `to_dict` shape (`type: "system_content"`, snake_case keys, effort as `"Medium"`). Unset fields whose
   * harmony default is not empty are written as `null` so that `from_dict` does not put the default back.
   */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      model_identity: this.modelIdentity ?? null,
      reasoning_effort: this.reasoningEffort === undefined ? null : EFFORT_JSON[this.reasoningEffort],
    };
    if (this.conversationStartDate !== undefined) out.conversation_start_date = this.conversationStartDate;
    out.knowledge_cutoff = this.knowledgeCutoff ?? null;
    out.channel_config = this.channelConfig === undefined ? null : this.channelConfig.toJSON();
    if (this.tools !== undefined) out.tools = toolsToJSON(this.tools);
    out.type = 'system_content';
    return out;
  }

  /**
   * Reads the Python/Rust JSON shape. As in Python, a missing key takes harmony's default and an explicit `null`
   * leaves the field unset.
   */
  static fromJSON(raw: unknown): SystemContent {
    if (raw instanceof SystemContent) return raw;
    const o = expectObject(raw, 'SystemContent');
    if (isForeignInstance(o)) {
      return new SystemContent({
        modelIdentity: o.modelIdentity as string | undefined,
        reasoningEffort: o.reasoningEffort === undefined ? undefined : parseReasoningEffort(o.reasoningEffort, 'SystemContent.reasoningEffort'),
        conversationStartDate: o.conversationStartDate as string | undefined,
        knowledgeCutoff: o.knowledgeCutoff as string | undefined,
        channelConfig: o.channelConfig === undefined ? undefined : ChannelConfig.fromJSON(o.channelConfig),
        tools: toolsFromJSON(o.tools, 'SystemContent'),
      });
    }
    const w = 'SystemContent';
    const d = SystemContent.new();
    const pick = <T>(key: string, dflt: T | undefined, read: (v: unknown) => T): T | undefined => {
      if (!(key in o) || o[key] === undefined) return dflt;
      if (o[key] === null) return undefined;
      return read(o[key]);
    };
    return new SystemContent({
      modelIdentity: pick('model_identity', d.modelIdentity, () => optString(o, 'model_identity', w)!),
      reasoningEffort: pick('reasoning_effort', d.reasoningEffort, (v) => parseReasoningEffort(v, `${w}.reasoning_effort`)),
      conversationStartDate: optString(o, 'conversation_start_date', w),
      knowledgeCutoff: pick('knowledge_cutoff', d.knowledgeCutoff, () => optString(o, 'knowledge_cutoff', w)!),
      channelConfig: pick('channel_config', d.channelConfig, (v) => ChannelConfig.fromJSON(v)),
      tools: toolsFromJSON(o.tools, w),
    });
  }
}

/** A SystemContent made by another copy of this package: same fields, camelCase, no snake_case keys. */
function isForeignInstance(o: Record<string, unknown>): boolean {
  return ['modelIdentity', 'reasoningEffort', 'knowledgeCutoff', 'channelConfig', 'conversationStartDate'].some((k) => k in o);
}
