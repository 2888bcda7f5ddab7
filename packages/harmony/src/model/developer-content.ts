import { expectObject, optString } from './json-util.js';
import { ToolNamespaceConfig, toolsFromJSON, toolsToJSON, type ToolDescription, type ToolNamespaces } from './tools.js';

/**
 * Content of the developer message: instructions (`# Instructions`) and tools, usually function tools in the
 * `functions` namespace. Immutable: every `with*` returns a copy.
 *
 * @example
 * const dev = DeveloperContent.new().withInstructions('Answer briefly.').withFunctionTools([
 *   { name: 'get_weather', description: 'Gets the weather.', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
 * ]);
 */
export class DeveloperContent {
  readonly type = 'developer_content' as const;
  readonly instructions: string | undefined;
  readonly tools: ToolNamespaces | undefined;

  constructor(fields: { instructions?: string | undefined; tools?: ToolNamespaces | undefined } = {}) {
    this.instructions = fields.instructions;
    this.tools = fields.tools === undefined ? undefined : Object.freeze({ ...fields.tools });
  }

  static new(): DeveloperContent {
    return new DeveloperContent();
  }

  withInstructions(instructions: string | undefined): DeveloperContent {
    return new DeveloperContent({ instructions, tools: this.tools });
  }

  /** Adds (or replaces) the namespace `ns.name`. */
  withTools(ns: ToolNamespaceConfig): DeveloperContent {
    return new DeveloperContent({ instructions: this.instructions, tools: { ...(this.tools ?? {}), [ns.name]: ns } });
  }

  /** Installs `tools` as the `functions` namespace (no description), replacing an earlier one. */
  withFunctionTools(tools: readonly ToolDescription[]): DeveloperContent {
    return this.withTools(new ToolNamespaceConfig('functions', undefined, tools));
  }

  /** Python `to_dict` shape: `{instructions?, tools?, type: "developer_content"}`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (this.instructions !== undefined) out.instructions = this.instructions;
    if (this.tools !== undefined) out.tools = toolsToJSON(this.tools);
    out.type = 'developer_content';
    return out;
  }

  static fromJSON(raw: unknown): DeveloperContent {
    if (raw instanceof DeveloperContent) return raw;
    const o = expectObject(raw, 'DeveloperContent');
    return new DeveloperContent({
      instructions: optString(o, 'instructions', 'DeveloperContent'),
      tools: toolsFromJSON(o.tools, 'DeveloperContent'),
    });
  }
}
