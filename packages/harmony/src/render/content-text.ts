// Text of system and developer content (SPEC §4.3–§4.5).
import type { DeveloperContent } from '../model/developer-content.js';
import type { SystemContent } from '../model/system-content.js';
import type { ToolNamespaces } from '../model/tools.js';
import { jsonSchemaToTypeScript } from './json-schema-to-typescript.js';

/** Rust's `str::lines()`: split on `\n`, drop one `\r` before it, no trailing empty line. @internal */
export function rustLines(s: string): string[] {
  if (s.length === 0) return [];
  const parts = s.split('\n');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.map((p) => (p.endsWith('\r') ? p.slice(0, -1) : p));
}

/** Order of Rust's `BTreeMap<String, _>`: by UTF-8 bytes, which is code point order. @internal */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** The `# Tools` section: every namespace, sorted by name. @internal */
export function toolsSectionText(tools: ToolNamespaces): string {
  const sections = ['# Tools'];
  for (const key of Object.keys(tools).sort(compareCodePoints)) {
    const ns = tools[key];
    const lines: string[] = [`## ${ns.name}\n`];
    const hasTools = ns.tools.length > 0;
    if (ns.description !== undefined) {
      for (const line of rustLines(ns.description)) lines.push(hasTools ? `// ${line}` : line);
    }
    if (hasTools) {
      lines.push(`namespace ${ns.name} {\n`);
      for (const tool of ns.tools) {
        for (const line of rustLines(tool.description)) lines.push(`// ${line}`);
        if (tool.parameters !== undefined && tool.parameters !== null) {
          lines.push(`type ${tool.name} = (_: ${jsonSchemaToTypeScript(tool.parameters, '')}) => any;\n`);
        } else {
          lines.push(`type ${tool.name} = () => any;\n`);
        }
      }
      lines.push(`} // namespace ${ns.name}`);
    }
    sections.push(lines.join('\n'));
  }
  return sections.join('\n\n');
}

/** Text of a system message body. @internal */
export function systemContentText(sys: SystemContent, conversationHasFunctionTools: boolean): string {
  const sections: string[] = [];
  const top: string[] = [];
  if (sys.modelIdentity !== undefined) top.push(sys.modelIdentity);
  if (sys.knowledgeCutoff !== undefined) top.push(`Knowledge cutoff: ${sys.knowledgeCutoff}`);
  if (sys.conversationStartDate !== undefined) top.push(`Current date: ${sys.conversationStartDate}`);
  if (top.length > 0) sections.push(top.join('\n'));
  if (sys.reasoningEffort !== undefined) sections.push(`Reasoning: ${sys.reasoningEffort}`);
  if (sys.tools !== undefined && Object.keys(sys.tools).length > 0) sections.push(toolsSectionText(sys.tools));
  const cc = sys.channelConfig;
  if (cc !== undefined && cc.validChannels.length > 0) {
    let header = `# Valid channels: ${cc.validChannels.join(', ')}.`;
    if (cc.channelRequired) header += ' Channel must be included for every message.';
    if (conversationHasFunctionTools) {
      header += "\nCalls to these tools must go to the commentary channel: 'functions'.";
    }
    sections.push(header);
  }
  return sections.join('\n\n');
}

/** Text of a developer message body. @internal */
export function developerContentText(dev: DeveloperContent): string {
  const sections: string[] = [];
  if (dev.instructions !== undefined) sections.push('# Instructions', dev.instructions);
  if (dev.tools !== undefined && Object.keys(dev.tools).length > 0) sections.push(toolsSectionText(dev.tools));
  return sections.join('\n\n');
}
