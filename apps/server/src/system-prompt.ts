import { Message, SystemContent, type ReasoningEffort, type ToolNamespaceConfig } from '@gptoss/harmony';

/**
 * The harmony system message every request starts with (SPEC §6.2): default identity, today's date and the
 * requested reasoning effort. The API's own "system" messages become developer instructions, as in the reference.
 */
export function systemMessage(effort: ReasoningEffort, now = new Date(), namespaces: readonly ToolNamespaceConfig[] = []): Message {
  const date = now.toISOString().slice(0, 10);
  let content = SystemContent.new().withReasoningEffort(effort).withConversationStartDate(date);
  // Built-in tools (browser, python) are namespaces of the system message, not developer functions.
  for (const ns of namespaces) content = content.withTools(ns);
  return Message.fromRoleAndContent('system', content);
}
