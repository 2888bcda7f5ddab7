import { StreamableParser, loadHarmonyEncoding, type Conversation } from '@gptoss/harmony';
import type { AgentGenerateEvent } from '../../src/agent-loop.js';

// What a model would stream for a known completion: real harmony tokens (encoded with the specials allowed) fed
// through the real StreamableParser, interleaved as the runtime's Model.generate does. Random weights never call
// tools, so tests of the tool loop script the model's turns this way.
export const enc = loadHarmonyEncoding('HarmonyGptOss');

export async function* replay(
  completion: string,
  stopReason: 'stop-token' | 'max-tokens' = 'stop-token',
  promptTokens = 100,
): AsyncGenerator<AgentGenerateEvent> {
  const tokens = enc.tokenizer.encode(completion, { allowedSpecial: 'all' });
  const parser = new StreamableParser(enc, 'assistant', { strict: false });
  for (const t of tokens) {
    yield { type: 'token', token: t };
    yield* parser.push(t);
  }
  yield* parser.end();
  yield { type: 'done', messages: parser.messages, tokens, stopReason, stats: { promptTokens, completionTokens: tokens.length } };
}

/** A generate function that answers with `turns[i]` on its i-th call and records the conversations it was given. */
export function scripted(turns: string[]): {
  generate: (c: Conversation) => AsyncIterable<AgentGenerateEvent>;
  seen: Conversation[];
  rendered: () => string[];
} {
  const seen: Conversation[] = [];
  return {
    seen,
    generate: (c) => {
      const i = seen.length;
      seen.push(c);
      if (i >= turns.length) throw new Error(`the script has ${turns.length} turns; a turn ${i + 1} was asked for`);
      return replay(turns[i]!, 'stop-token', enc.renderConversationForCompletion(c, 'assistant').length);
    },
    rendered: () => seen.map((c) => enc.tokenizer.decodeUtf8(enc.renderConversationForCompletion(c, 'assistant'))),
  };
}
