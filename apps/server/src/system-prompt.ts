import { Message, SystemContent, type ReasoningEffort } from '@gptoss/harmony';

/**
 * The harmony system message every request starts with (SPEC §6.2): default identity, today's date and the
 * requested reasoning effort. The API's own "system" messages become developer instructions, as in the reference.
 */
export function systemMessage(effort: ReasoningEffort, now = new Date()): Message {
  const date = now.toISOString().slice(0, 10);
  const content = SystemContent.new().withReasoningEffort(effort).withConversationStartDate(date);
  return Message.fromRoleAndContent('system', content);
}
