import { createHash } from 'node:crypto';
import type { WeightSource } from '../backend/types.js';

/**
 * SHA-256 over every logical tensor's name, dtype, shape and bytes, in canonical order. The same weights give the
 * same digest in either layout and whatever the file headers look like, so fixtures can pin the weights they were
 * computed from.
 */
export async function weightsDigest(weights: WeightSource, chunkBytes = 1 << 24): Promise<string> {
  const h = createHash('sha256');
  for (const name of weights.names) {
    const t = weights.tensor(name);
    h.update(`${name}\0${t.dtype}\0${t.shape.join(',')}\0`);
    for (let off = 0; off < t.byteLength; off += chunkBytes) {
      h.update(await t.readRange(off, Math.min(t.byteLength, off + chunkBytes)));
    }
  }
  return h.digest('hex');
}
