import { isSafetensorsDType, SAFETENSORS_DTYPES, shapeElementCount, tensorByteLength } from './dtypes.js';
import type { SafetensorsDType } from './dtypes.js';
import { SafetensorsFormatError } from './errors.js';

/** Where one tensor lives. Offsets are byte offsets; `dataOffsets` are relative to the data section. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** `[begin, end)` relative to the start of the data section, as the header states them. */
  dataOffsets: [number, number];
  byteLength: number;
  /** Path of the file holding the tensor. */
  file: string;
  /** Absolute offset of the first byte in the file. */
  fileOffset: number;
}

/** The header of a safetensors file, parsed and validated. */
export interface ParsedHeader {
  /** Value of the 8-byte little-endian length prefix (bytes of JSON, padding included). */
  headerLength: number;
  /** Absolute offset of the data section: 8 + headerLength. */
  dataStart: number;
  metadata: Record<string, string>;
  /** Tensors in data order (ascending offsets). */
  tensors: TensorInfo[];
}

/** Same bound as the Rust crate: a header longer than this is refused before it is read. */
export const MAX_HEADER_LENGTH = 100_000_000;

/**
 * Reads the 8-byte length prefix. Returns the header length, or throws when it cannot fit the file.
 * @internal
 */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) {
    throw new SafetensorsFormatError(
      `${file}: not a safetensors file: expected at least 8 bytes (the header length), found ${fileSize}`,
      { file },
    );
  }
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = dv.getUint32(0, true);
  const hi = dv.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi >= 2 ** 21 || n > MAX_HEADER_LENGTH) {
    throw new SafetensorsFormatError(
      `${file}: header length prefix says ${hi >= 2 ** 21 ? 'more than 2^53' : n} bytes; expected at most ${MAX_HEADER_LENGTH} ` +
        '(is this a safetensors file?)',
      { file },
    );
  }
  if (8 + n > fileSize) {
    throw new SafetensorsFormatError(
      `${file}: header length prefix says ${n} bytes but the file has only ${fileSize - 8} bytes after the prefix ` +
        '(truncated file, or not a safetensors file)',
      { file },
    );
  }
  return n;
}

function fail(file: string, msg: string, tensor?: string): never {
  throw new SafetensorsFormatError(`${file}: ${tensor === undefined ? '' : `tensor ${JSON.stringify(tensor)}: `}${msg}`, {
    file,
    tensor,
  });
}

function describe(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

// Plain assignment of a key such as "__proto__" would change the prototype instead of adding a key.
function setOwn<T>(o: Record<string, T>, k: string, v: T): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses and validates a header the way the Rust `safetensors` crate does (`Metadata::validate` and
 * `read_metadata`): UTF-8 JSON object starting with `{` (trailing spaces allowed as padding), every
 * tensor with a known dtype, a shape of non-negative integers, `data_offsets` whose length equals
 * elements × bits / 8 (whole bytes), tensors packed back to back from offset 0 with no gaps or overlaps,
 * and the last tensor ending exactly at the end of the file.
 *
 * @param json the `headerLength` bytes after the 8-byte prefix
 * @param fileSize total file size in bytes
 * @internal
 */
export function parseHeaderJson(json: Uint8Array, fileSize: number, file: string): ParsedHeader {
  const headerLength = json.length;
  const dataStart = 8 + headerLength;
  let text: string;
  try {
    text = decoder.decode(json);
  } catch (e) {
    throw new SafetensorsFormatError(`${file}: header is not valid UTF-8`, { file, cause: e });
  }
  if (!text.startsWith('{')) {
    fail(file, `header must be a JSON object starting with "{"; found ${describe(text.slice(0, 16))}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsFormatError(`${file}: header is not valid JSON (${(e as Error).message})`, { file, cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail(file, `header must be a JSON object; found ${describe(parsed)}`);
  }
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null) continue;
      if (typeof entry !== 'object' || Array.isArray(entry)) {
        fail(file, `"__metadata__" must be an object of string values; found ${describe(entry)}`);
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `"__metadata__" values must be strings; key ${JSON.stringify(k)} has ${describe(v)}`);
        setOwn(metadata, k, v);
      }
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      fail(file, `expected {dtype, shape, data_offsets}; found ${describe(entry)}`, name);
    }
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (!isSafetensorsDType(dtype)) {
      fail(file, `unknown dtype ${describe(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`, name);
    }
    if (!Array.isArray(shape)) fail(file, `shape must be an array of non-negative integers; found ${describe(shape)}`, name);
    const elements = shapeElementCount(shape);
    if (elements === undefined) {
      fail(file, `shape must be non-negative integers whose product is below 2^53; found ${describe(shape)}`, name);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(file, `data_offsets must be [begin, end] non-negative integers; found ${describe(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(file, `data_offsets [${begin}, ${end}] end before they begin`, name);
    const expected = tensorByteLength(dtype, elements);
    if (expected === undefined) {
      fail(file, `${elements} elements of ${dtype} are not a whole number of bytes (shape ${describe(shape)})`, name);
    }
    if (end - begin !== expected) {
      fail(
        file,
        `shape ${describe(shape)} of ${dtype} needs ${expected} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        name,
      );
    }
    tensors.push({
      name,
      dtype,
      shape: (shape as number[]).slice(),
      dataOffsets: [begin, end],
      byteLength: expected,
      file,
      fileOffset: dataStart + begin,
    });
  }
  // Same order as the Rust crate: by (begin, end). Then the data must tile [0, end) exactly.
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  for (const t of tensors) {
    const [begin, end] = t.dataOffsets;
    if (begin !== cursor) {
      fail(
        file,
        begin < cursor
          ? `data_offsets [${begin}, ${end}] overlap the previous tensor, which ends at ${cursor}`
          : `data_offsets [${begin}, ${end}] leave a gap: the previous tensor ends at ${cursor} and the format requires tensors packed back to back`,
        t.name,
      );
    }
    cursor = end;
  }
  const dataBytes = fileSize - dataStart;
  if (cursor > dataBytes) {
    fail(
      file,
      `file is truncated: the header declares ${cursor} bytes of tensor data but only ${dataBytes} follow the header ` +
        `(file size ${fileSize}, expected ${dataStart + cursor}); re-download or re-write the file`,
    );
  }
  if (cursor < dataBytes) {
    fail(
      file,
      `the header declares ${cursor} bytes of tensor data but ${dataBytes} follow the header ` +
        `(file size ${fileSize}, expected ${dataStart + cursor}); trailing bytes are not allowed by the format`,
    );
  }
  return { headerLength, dataStart, metadata, tensors };
}

/** Space character the header is padded with, as the Python and Rust writers do. */
const SPACE = 0x20;

/** A tensor to be written: name, dtype and shape; the byte length follows from them. */
export interface TensorSpec {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
}

/**
 * Builds the header bytes (8-byte prefix + JSON padded with spaces so the data starts 8-byte aligned)
 * for tensors laid out in the given order.
 * @internal
 */
export function buildHeader(
  specs: readonly TensorSpec[],
  metadata: Record<string, string> | undefined,
  file: string,
): { bytes: Uint8Array; offsets: [number, number][]; dataStart: number; dataLength: number } {
  const obj: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') fail(file, `metadata values must be strings; key ${JSON.stringify(k)} has ${describe(v)}`);
    }
    const m: Record<string, string> = {};
    for (const [k, v] of Object.entries(metadata)) setOwn(m, k, v);
    obj.__metadata__ = m;
  }
  const offsets: [number, number][] = [];
  const seen = new Set<string>();
  let cursor = 0;
  for (const s of specs) {
    if (typeof s.name !== 'string') fail(file, `tensor name must be a string; found ${describe(s.name)}`);
    if (s.name === '__metadata__') fail(file, '"__metadata__" is reserved and cannot name a tensor', s.name);
    if (seen.has(s.name)) fail(file, 'appears twice in the tensor specs; names must be unique', s.name);
    seen.add(s.name);
    if (!isSafetensorsDType(s.dtype)) {
      fail(file, `unknown dtype ${describe(s.dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`, s.name);
    }
    const elements = Array.isArray(s.shape) ? shapeElementCount(s.shape) : undefined;
    if (elements === undefined) fail(file, `shape must be non-negative integers; found ${describe(s.shape)}`, s.name);
    const len = tensorByteLength(s.dtype, elements);
    if (len === undefined) {
      fail(file, `${elements} elements of ${s.dtype} are not a whole number of bytes (shape ${describe(s.shape)})`, s.name);
    }
    offsets.push([cursor, cursor + len]);
    setOwn(obj, s.name, { dtype: s.dtype, shape: s.shape.slice(), data_offsets: [cursor, cursor + len] });
    cursor += len;
  }
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  bytes.fill(SPACE, 8 + json.length);
  return { bytes, offsets, dataStart: 8 + padded, dataLength: cursor };
}
