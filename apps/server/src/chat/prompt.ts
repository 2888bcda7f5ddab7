import { Author, Conversation, DeveloperContent, Message, ToolDescription } from '@gptoss/harmony';
import { ApiError } from '../errors.js';
import { systemMessage } from '../system-prompt.js';
import type { ChatMessage, ChatRequest } from './request.js';

function text(content: ChatMessage['content']): string {
  if (content == null) return '';
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

/**
 * Chat Completions messages → harmony conversation. `system`/`developer` messages become developer
 * instructions (the harmony system message is ours), assistant `reasoning_content` becomes an analysis message,
 * `tool_calls` become commentary calls to `functions.{name}`, and `tool` messages reply from `functions.{name}`.
 */
export function buildChatConversation(req: ChatRequest, now?: Date): Conversation {
  const messages: Message[] = [systemMessage(req.reasoning_effort ?? 'low', now)];
  const instructions = req.messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => text(m.content))
    .join('\n\n');
  const tools = req.tools ?? [];
  if (instructions || tools.length > 0) {
    let dev = DeveloperContent.new();
    if (instructions) dev = dev.withInstructions(instructions);
    if (tools.length > 0) {
      dev = dev.withFunctionTools(
        tools.map((t) => ToolDescription.new(t.function.name, t.function.description ?? '', t.function.parameters ?? undefined)),
      );
    }
    messages.push(Message.fromRoleAndContent('developer', dev));
  }
  const callNames = new Map<string, string>();
  for (const m of req.messages) {
    if (m.role === 'system' || m.role === 'developer') continue;
    if (m.role === 'user') {
      messages.push(Message.fromRoleAndContent('user', text(m.content)));
    } else if (m.role === 'assistant') {
      const reasoning = m.reasoning_content ?? m.reasoning;
      if (reasoning) messages.push(Message.fromRoleAndContent('assistant', reasoning).withChannel('analysis'));
      const body = text(m.content);
      if (body) messages.push(Message.fromRoleAndContent('assistant', body).withChannel('final'));
      for (const call of m.tool_calls ?? []) {
        callNames.set(call.id, call.function.name);
        messages.push(
          Message.fromRoleAndContent('assistant', call.function.arguments)
            .withChannel('commentary')
            .withRecipient(`functions.${call.function.name}`)
            .withContentType('<|constrain|>json'),
        );
      }
    } else {
      const name = callNames.get(m.tool_call_id);
      if (name === undefined) {
        throw new ApiError(400, `tool message refers to tool_call_id "${m.tool_call_id}", but no earlier assistant tool_calls entry has that id`, 'invalid_request_error', 'messages');
      }
      messages.push(
        Message.fromAuthorAndContent(new Author('tool', `functions.${name}`), text(m.content))
          .withRecipient('assistant')
          .withChannel('commentary'),
      );
    }
  }
  return Conversation.fromMessages(messages);
}
