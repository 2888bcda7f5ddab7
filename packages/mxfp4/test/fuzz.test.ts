// Mutated headers and truncated files must only ever produce SafetensorsFormatError — never a crash,
// another error type, or a silently short read. Deterministic (seeded) so failures reproduce.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SafetensorsFile, SafetensorsFormatError, saveSafetensors } from '../src/index.js';
import { rawFile, rng, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let base: Uint8Array;
let headerLen: number;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('mxfp4-fuzz-'));
  const p = join(dir, 'base.safetensors');
  await saveSafetensors(
    p,
    [
      { name: 'w.blocks', dtype: 'U8', shape: [2, 2, 16], data: new Uint8Array(64).map((_, i) => i) },
      { name: 'w.scales', dtype: 'U8', shape: [2, 2], data: new Uint8Array([127, 128, 1, 254]) },
      { name: 'bias', dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xbf80, 0]) },
      { name: 'e', dtype: 'F32', shape: [0], data: new Uint8Array(0) },
      { name: 's', dtype: 'I64', shape: [], data: new BigInt64Array([5n]) },
    ],
    { format: 'pt' },
  );
  const { readFile } = await import('node:fs/promises');
  base = new Uint8Array(await readFile(p));
  headerLen = Number(new DataView(base.buffer, base.byteOffset).getBigUint64(0, true));
});
afterAll(() => cleanup());

let counter = 0;
const stats = { ok: 0, rejected: 0 };

/** Opens the bytes as a file; every tensor that opens must read fully. Anything but our error fails. */
async function probe(bytes: Uint8Array, what: string): Promise<void> {
  const p = join(dir, `f${counter++ % 64}.safetensors`);
  await writeFile(p, bytes);
  let f: SafetensorsFile | undefined;
  try {
    f = await SafetensorsFile.open(p);
    for (const [name, info] of f.tensors) {
      const data = await f.read(name);
      if (data.length !== info.byteLength) throw new Error(`${what}: short read of ${name}`);
      if (info.fileOffset + info.byteLength > bytes.length) throw new Error(`${what}: ${name} extends past EOF`);
    }
    stats.ok++;
  } catch (e) {
    if (!SafetensorsFormatError.isInstance(e)) {
      throw new Error(`${what}: expected SafetensorsFormatError, got ${(e as Error)?.name}: ${(e as Error)?.message}`, { cause: e });
    }
    expect((e as Error).message).toContain(p);
    stats.rejected++;
  } finally {
    await f?.close();
  }
}

function header(): Record<string, unknown> {
  const json = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
  return JSON.parse(json) as Record<string, unknown>;
}
const dataOf = (): Uint8Array => base.subarray(8 + headerLen);

describe('fuzz', () => {
  test('truncation at every length and appended bytes', async () => {
    for (let n = 0; n < base.length; n++) await probe(base.subarray(0, n), `truncate ${n}`);
    for (const extra of [1, 7, 8, 100]) await probe(new Uint8Array([...base, ...new Uint8Array(extra)]), `append ${extra}`);
  });

  test('random byte flips in the prefix and header', async () => {
    const r = rng(42);
    for (let i = 0; i < 1500; i++) {
      const b = base.slice();
      const flips = 1 + Math.floor(r() * 3);
      for (let k = 0; k < flips; k++) {
        const pos = Math.floor(r() * (8 + headerLen));
        b[pos] = r() < 0.5 ? b[pos] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
      }
      await probe(b, `flip #${i}`);
    }
  });

  test('lying length prefixes', async () => {
    const values = [0n, 1n, 2n, 7n, BigInt(headerLen - 1), BigInt(headerLen + 1), BigInt(base.length), 100_000_001n, 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n];
    for (const v of values) {
      const b = base.slice();
      new DataView(b.buffer).setBigUint64(0, v, true);
      await probe(b, `prefix ${v}`);
    }
  });

  test('structural header mutations', async () => {
    const r = rng(7);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
    const junk: unknown[] = [null, true, -1, 1.5, 1e300, -0, 'x', '', [], {}, [1, 2, 3], { a: 1 }, 2 ** 53, Number.MAX_SAFE_INTEGER, 'F32', [-1, 2], [2, 1], [0, 1e20]];
    const mutators: ((h: Record<string, Record<string, unknown>>) => void)[] = [
      (h) => (pick(Object.values(h).filter((v) => 'dtype' in v)).dtype = pick(['Q4', 'f32', 'F4', 'F8_E4M3', 'BF16', 'U64', 'F6_E2M3', 'C64', 5, null])),
      (h) => (pick(Object.values(h).filter((v) => 'dtype' in v)).shape = pick(junk)),
      (h) => (pick(Object.values(h).filter((v) => 'dtype' in v)).data_offsets = pick(junk)),
      (h) => {
        const t = pick(Object.values(h).filter((v) => 'dtype' in v));
        const o = t.data_offsets as number[];
        const d = Math.floor(r() * 9) - 4;
        t.data_offsets = r() < 0.5 ? [o[0] + d, o[1] + d] : [o[0], o[1] + d];
      },
      (h) => {
        const names = Object.keys(h).filter((k) => k !== '__metadata__');
        const a = h[pick(names)];
        const b = h[pick(names)];
        [a.data_offsets, b.data_offsets] = [b.data_offsets, a.data_offsets];
      },
      (h) => delete h[pick(Object.keys(h))],
      (h) => delete pick(Object.values(h).filter((v) => 'dtype' in v))[pick(['dtype', 'shape', 'data_offsets'])],
      (h) => ((h as Record<string, unknown>)[pick(['__metadata__', 'x', 'bias'])] = pick(junk)),
      (h) => (h.dup = { ...(h.bias as object) }),
      (h) => ((h.__metadata__ as Record<string, unknown>) = { a: pick(junk) }),
    ];
    for (let i = 0; i < 1500; i++) {
      const h = header() as Record<string, Record<string, unknown>>;
      const m = 1 + Math.floor(r() * 2);
      for (let k = 0; k < m; k++) {
        try {
          pick(mutators)(h);
        } catch {
          // a mutator that found nothing to mutate leaves the header as is
        }
      }
      let data = dataOf();
      if (r() < 0.2) data = data.subarray(0, Math.floor(r() * data.length));
      await probe(rawFile(h, data, Math.floor(r() * 9)), `struct #${i}`);
    }
  });

  test('bad JSON text and encodings', async () => {
    const r = rng(9);
    const text = new TextDecoder().decode(base.subarray(8, 8 + headerLen));
    const enc = new TextEncoder();
    const raw = (bytes: Uint8Array): Uint8Array => {
      const out = new Uint8Array(8 + bytes.length + dataOf().length);
      new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
      out.set(bytes, 8);
      out.set(dataOf(), 8 + bytes.length);
      return out;
    };
    for (let i = 0; i < 400; i++) {
      const cut = Math.floor(r() * text.length);
      const variants = [
        text.slice(0, cut),
        text.slice(0, cut) + text.slice(cut + 1),
        text.slice(0, cut) + pick(['"', '{', '}', ',', ':', '\\', '\u0000', 'ü', '[']) + text.slice(cut),
        ' ' + text,
        '[' + text + ']',
      ];
      await probe(raw(enc.encode(variants[i % variants.length])), `json #${i}`);
    }
    await probe(raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), 'invalid utf-8');
    await probe(raw(enc.encode('{"__proto__": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}')), '__proto__');
    function pick<T>(a: readonly T[]): T {
      return a[Math.floor(r() * a.length)];
    }
  });

  test('summary: both outcomes occurred', () => {
    expect(stats.rejected).toBeGreaterThan(3000);
    expect(stats.ok).toBeGreaterThan(10);
  });
});
