import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { rawFile, tempDir } from '../test/helpers.js';
import { SafetensorsFormatError } from './errors.js';
import { SafetensorsCheckpoint, writeShardedIndex } from './safetensors-checkpoint.js';
import { SafetensorsFile } from './safetensors-file.js';
import { SafetensorsWriter, saveSafetensors } from './safetensors-writer.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

const u8 = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('writer + reader round trip', () => {
  test('dtypes, scalar, empty tensor, metadata, 8-byte aligned data start', async () => {
    const p = join(dir, 'a.safetensors');
    const f32 = new Float32Array([1.5, -2, Infinity, NaN]);
    const bf16 = new Uint16Array([0x3f80, 0xc000, 0x7fc0]);
    const i64 = new BigInt64Array([-1n, 2n ** 62n]);
    await saveSafetensors(
      p,
      [
        { name: 'f32', dtype: 'F32', shape: [2, 2], data: f32 },
        { name: 'bf16', dtype: 'BF16', shape: [3], data: bf16 },
        { name: 'empty', dtype: 'F16', shape: [0, 5], data: new Uint8Array(0) },
        { name: 'scalar', dtype: 'I64', shape: [], data: i64.subarray(0, 1) },
        { name: 'i64', dtype: 'I64', shape: [2], data: i64 },
        { name: 'bool', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
        { name: 'fp4', dtype: 'F4', shape: [2, 3], data: new Uint8Array([0x12, 0x34, 0x56]) },
      ],
      { format: 'pt', note: 'ü' },
    );
    const bytes = await readFile(p);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    expect(bytes.subarray(8, 8 + n).toString().endsWith('}') || bytes[8 + n - 1] === 0x20).toBe(true);

    const f = await SafetensorsFile.open(p);
    expect(f.metadata).toEqual({ format: 'pt', note: 'ü' });
    expect([...f.tensors.keys()]).toEqual(['f32', 'bf16', 'empty', 'scalar', 'i64', 'bool', 'fp4']);
    expect(f.tensor('f32')).toMatchObject({ dtype: 'F32', shape: [2, 2], byteLength: 16, dataOffsets: [0, 16] });
    expect(f.tensor('fp4').byteLength).toBe(3);
    const r = await f.read('f32');
    expect(r.byteOffset % 8).toBe(0);
    expect([...new Uint32Array(r.buffer, r.byteOffset, 4)]).toEqual([...new Uint32Array(f32.buffer)]);
    expect([...new Uint16Array((await f.read('bf16')).buffer, 0, 3)]).toEqual([...bf16]);
    expect((await f.read('empty')).length).toBe(0);
    expect(new BigInt64Array((await f.read('scalar')).buffer)[0]).toBe(-1n);
    expect([...(await f.readRange('i64', 8, 16))]).toEqual([...u8(i64).subarray(8, 16)]);
    const dst = new Uint8Array(2);
    await f.readInto('bool', dst, 1);
    expect([...dst]).toEqual([0, 1]);
    expect(() => f.tensor('nope')).toThrow(SafetensorsFormatError);
    await expect(f.readRange('f32', 4, 17)).rejects.toThrow(/outside/);
    await expect(f.readInto('f32', new Uint8Array(4), 13)).rejects.toThrow(/outside/);
    await f.close();
    await expect(f.read('f32')).rejects.toThrow(/closed/);
  });

  test('chunked writes in any tensor order; overflow, unknown and incomplete are errors that leave nothing behind', async () => {
    const p = join(dir, 'b.safetensors');
    const w = await SafetensorsWriter.create(p, [
      { name: 'x', dtype: 'U8', shape: [10] },
      { name: 'y', dtype: 'U16', shape: [3] },
    ]);
    await w.write('y', new Uint8Array([1, 2, 3]));
    await w.write('x', new Uint8Array([0, 1, 2, 3]));
    await w.write('y', new Uint8Array([4, 5, 6]));
    await w.write('x', new Uint8Array([4, 5, 6, 7, 8, 9]));
    expect(w.remaining('x')).toBe(0);
    await w.close();
    const f = await SafetensorsFile.open(p);
    expect([...(await f.read('x'))]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...(await f.read('y'))]).toEqual([1, 2, 3, 4, 5, 6]);
    await f.close();

    const q = join(dir, 'c.safetensors');
    const w2 = await SafetensorsWriter.create(q, [{ name: 'x', dtype: 'U8', shape: [2] }]);
    await expect(w2.write('x', new Uint8Array(3))).rejects.toThrow(/overflows/);
    await expect(w2.write('x', new Uint8Array(1))).rejects.toThrow(/aborted/);
    const w3 = await SafetensorsWriter.create(q, [{ name: 'x', dtype: 'U8', shape: [2] }]);
    await expect(w3.write('z', new Uint8Array(1))).rejects.toThrow(/not among the specs/);
    const w4 = await SafetensorsWriter.create(q, [{ name: 'x', dtype: 'U8', shape: [2] }]);
    await w4.write('x', new Uint8Array(1));
    await expect(w4.close()).rejects.toThrow(/incomplete/);
    expect((await readdir(dir)).filter((n) => n.startsWith('c.'))).toEqual([]);
  });

  test('overlapping write() calls apply in call order; abort() removes the temporary file', async () => {
    const p = join(dir, 'conc.safetensors');
    const w = await SafetensorsWriter.create(p, [{ name: 'x', dtype: 'U8', shape: [6] }], undefined, { sync: true });
    await Promise.all([w.write('x', new Uint8Array([1, 2])), w.write('x', new Uint8Array([3, 4])), w.write('x', new Uint8Array([5, 6]))]);
    await w.close();
    const f = await SafetensorsFile.open(p);
    expect([...(await f.read('x'))]).toEqual([1, 2, 3, 4, 5, 6]);
    await f.close();

    const q = join(dir, 'aborted.safetensors');
    const w2 = await SafetensorsWriter.create(q, [{ name: 'x', dtype: 'U8', shape: [2] }]);
    await w2.write('x', new Uint8Array([1]));
    await w2.abort();
    await w2.abort();
    await expect(w2.close()).rejects.toThrow(/aborted/);
    expect((await readdir(dir)).filter((n) => n.startsWith('aborted.'))).toEqual([]);
  });

  test('bad specs are rejected up front', async () => {
    const p = join(dir, 'bad.safetensors');
    await expect(SafetensorsWriter.create(p, [{ name: 'x', dtype: 'F4', shape: [3] }])).rejects.toThrow(/whole number of bytes/);
    await expect(SafetensorsWriter.create(p, [{ name: 'x', dtype: 'Q4' as 'F4', shape: [2] }])).rejects.toThrow(/unknown dtype/);
    await expect(SafetensorsWriter.create(p, [{ name: 'x', dtype: 'U8', shape: [-1] }])).rejects.toThrow(/shape/);
    await expect(
      SafetensorsWriter.create(p, [
        { name: 'x', dtype: 'U8', shape: [1] },
        { name: 'x', dtype: 'U8', shape: [1] },
      ]),
    ).rejects.toThrow(/twice/);
    await expect(SafetensorsWriter.create(p, [{ name: '__metadata__', dtype: 'U8', shape: [1] }])).rejects.toThrow(/reserved/);
  });

  test('a __proto__ tensor name is stored as a key, not a prototype', async () => {
    const p = join(dir, 'proto.safetensors');
    await saveSafetensors(p, [{ name: '__proto__', dtype: 'U8', shape: [1], data: new Uint8Array([7]) }], { __proto__x: 'a' });
    const f = await SafetensorsFile.open(p);
    expect([...(await f.read('__proto__'))]).toEqual([7]);
    await f.close();
  });
});

describe('reader validation', () => {
  const good = { a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U16', shape: [1], data_offsets: [2, 4] } };
  const cases: [string, Uint8Array, RegExp][] = [
    ['truncated', rawFile(good, new Uint8Array(3)), /truncated/],
    ['trailing', rawFile(good, new Uint8Array(5)), /trailing/],
    ['gap', rawFile({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [1], data_offsets: [3, 4] } }, new Uint8Array(4)), /gap/],
    ['overlap', rawFile({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }, new Uint8Array(3)), /overlap/],
    ['unknown dtype', rawFile({ a: { dtype: 'Q8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /unknown dtype "Q8"/],
    ['shape mismatch', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, new Uint8Array(4)), /needs 8 bytes/],
    ['odd F4', rawFile({ a: { dtype: 'F4', shape: [3], data_offsets: [0, 2] } }, new Uint8Array(2)), /whole number of bytes/],
    ['negative dim', rawFile({ a: { dtype: 'U8', shape: [-2], data_offsets: [0, 2] } }, new Uint8Array(2)), /shape/],
    ['float dim', rawFile({ a: { dtype: 'U8', shape: [1.5], data_offsets: [0, 2] } }, new Uint8Array(2)), /shape/],
    ['bad metadata', rawFile({ __metadata__: { a: 1 } }, new Uint8Array(0)), /metadata/],
    ['array header', rawFile([1], new Uint8Array(0)), /starting with "\{"/],
    ['reversed offsets', rawFile({ a: { dtype: 'U8', shape: [0], data_offsets: [2, 0] } }, new Uint8Array(2)), /end before/],
  ];
  test.each(cases)('%s', async (name, bytes, re) => {
    const p = join(dir, `v-${name.replace(/ /g, '_')}.safetensors`);
    await writeFile(p, bytes);
    const err = await SafetensorsFile.open(p).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsFormatError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toContain(p);
  });

  test('header padded with spaces, tensors listed out of offset order, null metadata', async () => {
    const p = join(dir, 'pad.safetensors');
    const hdr = { __metadata__: null, b: { dtype: 'U8', shape: [1], data_offsets: [2, 3] }, a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } };
    await writeFile(p, rawFile(hdr, new Uint8Array([1, 2, 3]), 5));
    const f = await SafetensorsFile.open(p);
    expect([...f.tensors.keys()]).toEqual(['a', 'b']);
    expect([...(await f.read('b'))]).toEqual([3]);
    await f.close();
  });

  test('lying header length and tiny files', async () => {
    const p = join(dir, 'lie.safetensors');
    const bytes = rawFile({}, new Uint8Array(0));
    new DataView(bytes.buffer).setUint32(0, 1000, true);
    await writeFile(p, bytes);
    await expect(SafetensorsFile.open(p)).rejects.toThrow(/header length prefix says 1000 bytes/);
    await writeFile(p, new Uint8Array(5));
    await expect(SafetensorsFile.open(p)).rejects.toThrow(/at least 8 bytes/);
    new DataView(bytes.buffer).setUint32(4, 0xffffffff, true);
    await writeFile(p, bytes);
    await expect(SafetensorsFile.open(p)).rejects.toThrow(SafetensorsFormatError);
    await expect(SafetensorsFile.open(join(dir, 'missing.safetensors'))).rejects.toThrow(/ENOENT/);
    await expect(SafetensorsFile.open(dir)).rejects.toThrow(/found a directory/);
  });
});

describe('large files', () => {
  test('positions beyond 4 GiB (sparse 5 GiB file): readRange, readInto and the tensor after it', async () => {
    const { open } = await import('node:fs/promises');
    const big = 5 * 2 ** 30 + 3;
    const hdr = rawFile(
      { big: { dtype: 'U8', shape: [big], data_offsets: [0, big] }, tail: { dtype: 'U8', shape: [4], data_offsets: [big, big + 4] } },
      new Uint8Array(0),
    );
    const p = join(dir, 'sparse.safetensors');
    const fh = await open(p, 'w');
    await fh.write(hdr, 0, hdr.length, 0);
    const dataStart = hdr.length;
    await fh.write(new Uint8Array([1, 2, 3, 4, 5, 6, 7]), 0, 7, dataStart + big - 3);
    await fh.truncate(dataStart + big + 4);
    await fh.close();
    const f = await SafetensorsFile.open(p);
    expect(f.tensor('tail').fileOffset).toBe(dataStart + big);
    expect([...(await f.readRange('big', big - 4, big))]).toEqual([0, 1, 2, 3]);
    const dst = new Uint8Array(2);
    await f.readInto('big', dst, big - 2);
    expect([...dst]).toEqual([2, 3]);
    expect([...(await f.read('tail'))]).toEqual([4, 5, 6, 7]);
    await f.close();
  });
});

describe('checkpoint', () => {
  test('directory of shards, index.json, single file, iterate with chunks', async () => {
    const d = join(dir, 'ckpt');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d);
    await saveSafetensors(join(d, 'model-00001-of-00002.safetensors'), [
      { name: 'a', dtype: 'U8', shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) },
      { name: 'b', dtype: 'U8', shape: [1], data: new Uint8Array([6]) },
    ]);
    await saveSafetensors(join(d, 'model-00002-of-00002.safetensors'), [
      { name: 'c', dtype: 'F32', shape: [1], data: new Float32Array([3]) },
    ]);
    const plain = await SafetensorsCheckpoint.open(d);
    expect([...plain.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    await plain.close();

    await writeShardedIndex(d, { a: 'model-00001-of-00002.safetensors', c: 'model-00002-of-00002.safetensors', b: 'model-00001-of-00002.safetensors' });
    const idx = JSON.parse(await readFile(join(d, 'model.safetensors.index.json'), 'utf8'));
    expect(idx.metadata.total_size).toBe(10);
    expect(Object.keys(idx.weight_map)).toEqual(['a', 'b', 'c']);
    const ck = await SafetensorsCheckpoint.open(d);
    expect(ck.metadata.total_size).toBe(10);
    expect(new Float32Array((await ck.read('c')).buffer)[0]).toBe(3);
    const items: [string, number, number[]][] = [];
    for await (const { info, data, offset } of ck.iterate({ chunkBytes: 2 })) items.push([info.name, offset, [...data]]);
    expect(items).toEqual([
      ['a', 0, [1, 2]],
      ['a', 2, [3, 4]],
      ['a', 4, [5]],
      ['b', 0, [6]],
      ['c', 0, [0, 0]],
      ['c', 2, [0x40, 0x40]],
    ]);
    const names: string[] = [];
    for await (const { info } of ck) names.push(info.name);
    expect(names).toEqual(['a', 'b', 'c']);
    const picked: string[] = [];
    for await (const { info, data } of ck.iterate({ names: ['c', 'a'] })) picked.push(`${info.name}:${data.length}`);
    expect(picked).toEqual(['c:4', 'a:5']);
    await expect(ck.iterate({ chunkBytes: 0 }).next()).rejects.toThrow(RangeError);
    expect(() => ck.tensor('zz')).toThrow(/no tensor named "zz"/);
    await ck.close();

    const single = await SafetensorsCheckpoint.open(join(d, 'model-00002-of-00002.safetensors'));
    expect([...single.tensors.keys()]).toEqual(['c']);
    await single.close();

    await expect(writeShardedIndex(d, { a: '../x.safetensors' })).rejects.toThrow(/inside/);
    await expect(writeShardedIndex(d, { zz: 'model-00002-of-00002.safetensors' })).rejects.toThrow(/no tensor named "zz"/);
    await writeFile(join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { q: 'model-00002-of-00002.safetensors' } }));
    await expect(SafetensorsCheckpoint.open(d)).rejects.toThrow(/has no such tensor/);
  });

  test('duplicate names across files and empty dirs are errors', async () => {
    const d = join(dir, 'dup');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(d);
    await expect(SafetensorsCheckpoint.open(d)).rejects.toThrow(/no \*\.safetensors/);
    await saveSafetensors(join(d, '1.safetensors'), [{ name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) }]);
    await saveSafetensors(join(d, '2.safetensors'), [{ name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array(1) }]);
    await expect(SafetensorsCheckpoint.open(d)).rejects.toThrow(/in both/);
  });
});
