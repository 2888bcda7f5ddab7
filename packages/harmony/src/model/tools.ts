import { HarmonyValidationError } from '../errors.js';
import { describe, expectObject, isPlainObject, optString, reqString } from './json-util.js';

/**
 * One tool (function) inside a tool namespace. `parameters` is a JSON Schema object; its key order is kept
 * and matters for the rendered prompt.
 */
export interface ToolDescription {
  name: string;
  description: string;
  parameters?: Record<string, unknown>;
}

/** Builders and JSON helpers for {@link ToolDescription}, mirroring Python's `ToolDescription.new`. */
export const ToolDescription = {
  new(name: string, description: string, parameters?: Record<string, unknown>): ToolDescription {
    return parameters === undefined ? { name, description } : { name, description, parameters };
  },
  /** Python `model_dump(exclude_none=True)` shape. */
  toJSON(t: ToolDescription): Record<string, unknown> {
    const out: Record<string, unknown> = { name: t.name, description: t.description };
    if (t.parameters !== undefined) out.parameters = t.parameters;
    return out;
  },
  fromJSON(raw: unknown): ToolDescription {
    const o = expectObject(raw, 'ToolDescription');
    const name = reqString(o, 'name', 'ToolDescription');
    const description = reqString(o, 'description', `ToolDescription ${name}`);
    const p = o.parameters;
    if (p === undefined || p === null) return { name, description };
    if (!isPlainObject(p)) {
      throw new HarmonyValidationError(
        `ToolDescription ${name}.parameters: expected a JSON Schema object or null, found ${describe(p)}.`,
      );
    }
    return { name, description, parameters: p };
  },
};

const BROWSER_DESCRIPTION = [
  'Tool for browsing.',
  'The `cursor` appears in brackets before each browsing display: `[{cursor}]`.',
  'Cite information from the tool using the following format:',
  '`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.',
  'Do not quote more than 10 words directly from the tool output.',
  'sources=web (default: web)',
].join('\n');

const BROWSER_OPEN_DESCRIPTION = [
  'Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, showing `num_lines` lines.',
  'Valid link ids are displayed with the formatting: `【{id}†.*】`.',
  'If `cursor` is not provided, the most recent page is implied.',
  'If `id` is a string, it is treated as a fully qualified URL associated with `source`.',
  'If `loc` is not provided, the viewport will be positioned at the beginning of the document or centered on the most relevant passage, if available.',
  'Use this function without `id` to scroll to a new location of an opened page.',
].join('\n');

const PYTHON_DESCRIPTION =
  'Use this tool to execute Python code in your chain of thought. The code will not be shown to the user. This tool should be used for internal reasoning, but not for code that is intended to be visible to the user (e.g. when creating plots, tables, or files).\n\n' +
  "When you send a message containing Python code to python, it will be executed in a stateful Jupyter notebook environment. python will respond with the output of the execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save and persist user files. Internet access for this session is UNKNOWN. Depends on the cluster.";

/** A tool namespace (`## name` section of the tools block): an optional description and its tools. */
export class ToolNamespaceConfig {
  readonly name: string;
  readonly description: string | undefined;
  readonly tools: ToolDescription[];

  constructor(name: string, description?: string | null, tools: readonly ToolDescription[] = []) {
    this.name = name;
    this.description = description ?? undefined;
    this.tools = [...tools];
  }

  static new(name: string, description?: string | null, tools: readonly ToolDescription[] = []): ToolNamespaceConfig {
    return new ToolNamespaceConfig(name, description, tools);
  }

  /** The built-in `browser` namespace (search/open/find) exactly as openai/harmony defines it. */
  static browser(): ToolNamespaceConfig {
    return new ToolNamespaceConfig('browser', BROWSER_DESCRIPTION, [
      {
        name: 'search',
        description: 'Searches for information related to `query` and displays `topn` results.',
        parameters: {
          type: 'object',
          properties: {
            query: { type: 'string' },
            topn: { type: 'number', default: 10 },
            source: { type: 'string' },
          },
          required: ['query'],
        },
      },
      {
        name: 'open',
        description: BROWSER_OPEN_DESCRIPTION,
        parameters: {
          type: 'object',
          properties: {
            id: { type: ['number', 'string'], default: -1 },
            cursor: { type: 'number', default: -1 },
            loc: { type: 'number', default: -1 },
            num_lines: { type: 'number', default: -1 },
            view_source: { type: 'boolean', default: false },
            source: { type: 'string' },
          },
        },
      },
      {
        name: 'find',
        description: 'Finds exact matches of `pattern` in the current page, or the page given by `cursor`.',
        parameters: {
          type: 'object',
          properties: {
            pattern: { type: 'string' },
            cursor: { type: 'number', default: -1 },
          },
          required: ['pattern'],
        },
      },
    ]);
  }

  /** The built-in `python` namespace (stateful Jupyter description, no tools) exactly as openai/harmony defines it. */
  static python(): ToolNamespaceConfig {
    return new ToolNamespaceConfig('python', PYTHON_DESCRIPTION, []);
  }

  /** Python `model_dump(exclude_none=True)` shape: `{name, description?, tools}`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { name: this.name };
    if (this.description !== undefined) out.description = this.description;
    out.tools = this.tools.map((t) => ToolDescription.toJSON(t));
    return out;
  }

  static fromJSON(raw: unknown): ToolNamespaceConfig {
    if (raw instanceof ToolNamespaceConfig) return raw;
    const o = expectObject(raw, 'ToolNamespaceConfig');
    const name = reqString(o, 'name', 'ToolNamespaceConfig');
    const description = optString(o, 'description', `ToolNamespaceConfig ${name}`);
    const tools = o.tools ?? [];
    if (!Array.isArray(tools)) {
      throw new HarmonyValidationError(`ToolNamespaceConfig ${name}.tools: expected an array, found ${describe(tools)}.`);
    }
    return new ToolNamespaceConfig(name, description, tools.map((t) => ToolDescription.fromJSON(t)));
  }
}

/** A namespace map (`tools` of system/developer content). Rendering sorts it by name, as harmony's BTreeMap does. */
export type ToolNamespaces = Readonly<Record<string, ToolNamespaceConfig>>;

/** @internal */
export function toolsFromJSON(raw: unknown, what: string): Record<string, ToolNamespaceConfig> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const o = expectObject(raw, `${what}.tools`);
  const out: Record<string, ToolNamespaceConfig> = {};
  for (const [k, v] of Object.entries(o)) out[k] = ToolNamespaceConfig.fromJSON(v);
  return out;
}

/** @internal */
export function toolsToJSON(tools: ToolNamespaces): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tools)) out[k] = v.toJSON();
  return out;
}
