import { Author, Conversation, DeveloperContent, Message, ToolDescription, type ReasoningEffort, type ToolNamespaceConfig } from '@gptoss/harmony';
import { ApiError } from '../errors.js';
import { systemMessage } from '../system-prompt.js';
import { builtinNamespaces } from './builtin-tools.js';
import type { InputItem, ResponsesRequest } from './request.js';

type FunctionTool = { type: 'function'; name: string; description?: string | null; parameters?: Record<string, unknown> | null };

function functionTools(req: ResponsesRequest): FunctionTool[] {
  return req.tools.filter((t): t is FunctionTool & typeof t => t.type === 'function');
}

function partsText(content: string | { text: string }[]): string[] {
  return typeof content === 'string' ? [content] : content.map((p) => p.text);
}

/**
 * Builds the harmony conversation for a Responses request (SPEC §6.2 "Prompt construction"): system message,
 * developer message (instructions + function tools) and the input items. Built-in tools (`web_search`,
 * `code_interpreter`) add the browser and python namespaces to the system message.
 */
export function buildConversation(
  req: ResponsesRequest,
  input: InputItem[] | string,
  now?: Date,
  namespaces: readonly ToolNamespaceConfig[] = builtinNamespaces(req),
): Conversation {
  const effort: ReasoningEffort = req.reasoning?.effort ?? 'low';
  const messages: Message[] = [systemMessage(effort, now, namespaces)];
  const fns = functionTools(req);
  if (req.instructions || fns.length > 0) {
    let dev = DeveloperContent.new();
    if (req.instructions) dev = dev.withInstructions(req.instructions);
    if (fns.length > 0) {
      dev = dev.withFunctionTools(
        fns.map((f) => ToolDescription.new(f.name, f.description ?? '', f.parameters ?? undefined)),
      );
    }
    messages.push(Message.fromRoleAndContent('developer', dev));
  }
  if (typeof input === 'string') {
    messages.push(Message.fromRoleAndContent('user', input));
    return Conversation.fromMessages(messages);
  }

  const callNames = new Map<string, string>();
  const lastAssistant = input.findLastIndex((it) => 'role' in it && it.role === 'assistant');
  const endsWithToolOutput = input.length > 0 && input[input.length - 1]!.type === 'function_call_output';
  input.forEach((item, i) => {
    if (item.type === 'function_call') {
      const fc = item as { call_id: string; name: string; arguments: string };
      callNames.set(fc.call_id, fc.name);
      messages.push(
        Message.fromRoleAndContent('assistant', fc.arguments)
          .withRecipient(`functions.${fc.name}`)
          .withChannel('commentary')
          .withContentType('<|constrain|>json'),
      );
    } else if (item.type === 'function_call_output') {
      const out = item as { call_id: string; output: string };
      const name = callNames.get(out.call_id);
      if (name === undefined) {
        throw new ApiError(400, `function_call_output refers to call_id "${out.call_id}", but no function_call with that id precedes it in the input`, 'invalid_request_error', 'input');
      }
      messages.push(
        Message.fromAuthorAndContent(new Author('tool', `functions.${name}`), out.output)
          .withRecipient('assistant')
          .withChannel('commentary'),
      );
    } else if (item.type === 'reasoning') {
      // Reasoning is only worth its tokens while a tool-call turn is in progress (the reference's rule).
      const r = item as { content?: { text: string }[] };
      if (i > lastAssistant && endsWithToolOutput) {
        for (const part of r.content ?? []) messages.push(Message.fromRoleAndContent('assistant', part.text).withChannel('analysis'));
      }
    } else if (item.type === 'web_search_call' || item.type === 'code_interpreter_call') {
      // Built-in tool calls are replayed by their results, not by the call items.
    } else {
      const m = item as { role: 'user' | 'assistant' | 'system' | 'developer'; content: string | { text: string }[] };
      const role = m.role === 'system' ? 'developer' : m.role;
      const texts = partsText(m.content);
      texts.forEach((text, j) => {
        let msg = Message.fromRoleAndContent(role, role === 'developer' ? DeveloperContent.new().withInstructions(text) : text);
        if (role === 'assistant' && j === texts.length - 1) msg = msg.withChannel('final');
        messages.push(msg);
      });
    }
  });
  return Conversation.fromMessages(messages);
}
