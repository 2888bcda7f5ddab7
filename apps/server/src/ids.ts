import { randomUUID } from 'node:crypto';

/** OpenAI-style ids: a prefix and 32 hex chars (`resp_…`, `msg_…`, `rs_…`, `fc_…`, `call_…`, `chatcmpl-…`). */
export function newId(prefix: string): string {
  return prefix + randomUUID().replace(/-/g, '');
}
