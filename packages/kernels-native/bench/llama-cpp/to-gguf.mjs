#!/usr/bin/env node
// Converts an original-layout gpt-oss checkpoint (config.json + *.safetensors, tensor names `block.{n}.attn.qkv.weight`,
// `block.{n}.mlp.mlp1_weight.blocks`, ...) into a GGUF file that llama.cpp's `gpt-oss` loader (LLM_ARCH_OPENAI_MOE)
// accepts, so that llama.cpp can be benchmarked on the very same weights as our engine:
//   node bench/llama-cpp/to-gguf.mjs [--model DIR] [--out FILE.gguf] [--fused-qkv] [--q8]
// Written from scratch against the GGUF format and llama.cpp's documented tensor/metadata conventions; it copies
// no llama.cpp code. Layout of the output (what llama.cpp's own converter produces with `--outtype bf16`):
//   - 2-D weights (token_embd, output, attn_q/k/v, attn_output) stay bf16; the router (ffn_gate_inp) and every 1-D
//     tensor (norms, biases, sinks) and the expert biases are f32.
//   - Experts stay MXFP4, re-blocked without dequantisation into ggml's block_mxfp4 (1 E8M0 byte + 16 nibble bytes per
//     32 values; value j of a block in the low nibble of byte j, value j+16 in the high nibble of byte j), whereas the
//     checkpoint stores values 2j / 2j+1 in the low / high nibble of byte j with the scales in a separate tensor.
//     mlp1 rows alternate gate (even) / linear (odd): they become ffn_gate_exps / ffn_up_exps (+ split biases).
//   - --q8: the non-expert 2-D weights (token_embd, output, attention projections) are quantised to Q8_0 instead,
//     the mix that llama.cpp's `llama-quantize ... MXFP4_MOE` produces (the published gpt-oss GGUFs); fewer bytes per
//     token than our engine reads, so only for reference.
//   - The fused qkv projection is split into attn_q / attn_k / attn_v (or kept as attn_qkv with --fused-qkv).
//   - Tokenizer: byte-level BPE (`gpt2` model, `gpt-4o` pre-tokenizer) built from the o200k_base ranks of the js-tiktoken
//     package that packages/harmony depends on: tokens 0..199997 in GPT-2 byte-to-unicode form, merges recovered from
//     the ranks (the usual tiktoken -> BPE conversion), and the harmony special tokens 199998..201087 as control tokens.
// The data is streamed (bounded memory): the ~13.8 GB output never sits in memory.
import { closeSync, openSync, readFileSync, readSync, renameSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: '/work/bigmodels/gpt-oss-20b' },
    out: { type: 'string' },
    'fused-qkv': { type: 'boolean', default: false },
    q8: { type: 'boolean', default: false },
    'no-weights': { type: 'boolean', default: false },
  },
});
const modelDir = o.model.replace(/\/+$/, '');
const outPath = o.out ?? `${modelDir}.gguf`;
const cfg = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));

// ---------------------------------------------------------------- safetensors (one file, original layout)
const stPath = join(modelDir, 'model.safetensors');
const src = openSync(stPath, 'r');
const lenBuf = Buffer.alloc(8);
readSync(src, lenBuf, 0, 8, 0);
const headerLen = Number(lenBuf.readBigUInt64LE(0));
const hdrBuf = Buffer.alloc(headerLen);
readSync(src, hdrBuf, 0, headerLen, 8);
const st = JSON.parse(hdrBuf.toString('utf8'));
const dataBase = 8 + headerLen;
function stTensor(name) {
  const t = st[name];
  if (!t) throw new Error(`tensor ${name} missing from ${stPath}`);
  return { dtype: t.dtype, shape: t.shape, offset: dataBase + t.data_offsets[0], bytes: t.data_offsets[1] - t.data_offsets[0] };
}
function readAt(buf, pos, len = buf.length) {
  let done = 0;
  while (done < len) {
    const n = readSync(src, buf, done, len - done, pos + done);
    if (n <= 0) throw new Error(`short read at ${pos + done}`);
    done += n;
  }
  return buf;
}

// ---------------------------------------------------------------- hyper-parameters
const L = cfg.num_hidden_layers, E = cfg.num_experts, H = cfg.hidden_size, I = cfg.intermediate_size;
const D = cfg.head_dim, NQ = cfg.num_attention_heads, NKV = cfg.num_key_value_heads, V = cfg.vocab_size;
const QW = NQ * D, KW = NKV * D;
if (H % 32 || I % 32) throw new Error('hidden/intermediate sizes must be multiples of 32 for MXFP4');

// ---------------------------------------------------------------- tokenizer (o200k_base ranks + harmony specials)
function loadRanks() {
  const req = createRequire(new URL('../../../harmony/package.json', import.meta.url));
  const ranks = req('js-tiktoken/ranks/o200k_base');
  const r = ranks.default ?? ranks;
  const list = []; // rank -> Buffer
  for (const line of r.bpe_ranks.split('\n')) {
    if (!line) continue;
    const [, offsetStr, ...toks] = line.split(' ');
    const offset = Number.parseInt(offsetStr, 10);
    toks.forEach((t, i) => (list[offset + i] = Buffer.from(t, 'base64')));
  }
  return list;
}
function byteToUnicode() {
  const bs = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) if (!bs.includes(b)) { bs.push(b); cs.push(256 + n++); }
  const m = new Array(256);
  bs.forEach((b, i) => (m[b] = String.fromCodePoint(cs[i])));
  return m;
}
function buildVocab() {
  const ranks = loadRanks();
  const nText = ranks.length; // 199998 for o200k_base
  const b2u = byteToUnicode();
  const rankOf = new Map(); // latin1 byte string -> rank
  ranks.forEach((b, i) => rankOf.set(b.toString('latin1'), i));
  const tokens = new Array(V);
  const types = new Int32Array(V);
  for (let i = 0; i < nText; i++) {
    let s = '';
    for (const b of ranks[i]) s += b2u[b];
    tokens[i] = s;
    types[i] = 1; // NORMAL
  }
  const named = { 199998: '<|startoftext|>', 199999: '<|endoftext|>', 200002: '<|return|>', 200003: '<|constrain|>', 200005: '<|channel|>', 200006: '<|start|>', 200007: '<|end|>', 200008: '<|message|>', 200012: '<|call|>' };
  for (let i = nText; i < V; i++) {
    tokens[i] = named[i] ?? `<|reserved_${i}|>`;
    types[i] = 3; // CONTROL
  }
  // merges: for each multi-byte token, run BPE on its bytes with the merges of lower rank only; the last merge
  // joins exactly two parts, which is the merge that creates this token.
  const merges = [];
  let bad = 0;
  for (let r = 0; r < nText; r++) {
    const tok = ranks[r];
    if (tok.length < 2) continue;
    let parts = [...tok].map((b) => String.fromCharCode(b));
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const rk = rankOf.get(parts[i] + parts[i + 1]);
        if (rk !== undefined && rk < bestRank) { bestRank = rk; best = i; }
      }
      if (best < 0 || bestRank >= r) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (parts.length !== 2) { bad++; continue; }
    const u = (p) => [...Buffer.from(p, 'latin1')].map((b) => b2u[b]).join('');
    merges.push(`${u(parts[0])} ${u(parts[1])}`);
  }
  if (bad) console.warn(`tokenizer: ${bad} multi-byte tokens without a two-part merge were skipped`);
  return { tokens, types, merges, nText };
}

// ---------------------------------------------------------------- GGUF writer
const GGUF = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STR: 8, ARR: 9, U64: 10, I64: 11, F64: 12 };
const T = { F32: 0, Q8_0: 8, BF16: 30, MXFP4: 39 };
const ALIGN = 32;

class Out {
  constructor(path) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.allocUnsafe(64 << 20);
    this.n = 0;
    this.pos = 0;
  }
  need(k) {
    if (this.n + k > this.buf.length) this.flush();
    if (k > this.buf.length) throw new Error('chunk too large');
  }
  flush() {
    let off = 0;
    while (off < this.n) off += writeSync(this.fd, this.buf, off, this.n - off);
    this.n = 0;
  }
  bytes(b) {
    if (b.length > this.buf.length / 2) { this.flush(); let off = 0; while (off < b.length) off += writeSync(this.fd, b, off, b.length - off); this.pos += b.length; return; }
    this.need(b.length);
    b.copy(this.buf, this.n);
    this.n += b.length;
    this.pos += b.length;
  }
  u32(v) { this.need(4); this.buf.writeUInt32LE(v, this.n); this.n += 4; this.pos += 4; }
  i32(v) { this.need(4); this.buf.writeInt32LE(v, this.n); this.n += 4; this.pos += 4; }
  u64(v) { this.need(8); this.buf.writeBigUInt64LE(BigInt(v), this.n); this.n += 8; this.pos += 8; }
  f32(v) { this.need(4); this.buf.writeFloatLE(v, this.n); this.n += 4; this.pos += 4; }
  str(s) { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.bytes(b); }
  pad() { const k = (ALIGN - (this.pos % ALIGN)) % ALIGN; if (k) this.bytes(Buffer.alloc(k)); }
  close() { this.flush(); closeSync(this.fd); }
}

// ---------------------------------------------------------------- tensor plan
// dims are ggml order (innermost first); `write(out)` streams exactly `bytes` bytes.
const CHUNK = 32 << 20;
const bf16Copy = (name, off = 0, bytes) => (out) => {
  const t = stTensor(name);
  if (t.dtype !== 'BF16') throw new Error(`${name}: expected BF16, got ${t.dtype}`);
  const total = bytes ?? t.bytes;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, total));
  for (let done = 0; done < total;) {
    const k = Math.min(buf.length, total - done);
    readAt(buf, t.offset + off + done, k);
    out.bytes(k === buf.length ? buf : buf.subarray(0, k));
    done += k;
  }
};
// Same source range as bf16Copy, quantised to ggml Q8_0 (blocks of 32: f16 scale amax/127, 32 int8 round(x/scale)).
const f32v = new Float32Array(1), u32v = new Uint32Array(f32v.buffer);
function f16Bits(f) {
  f32v[0] = f;
  const x = u32v[0], sign = (x >>> 16) & 0x8000;
  let e = (x >>> 23) & 0xff, m = x & 0x7fffff;
  if (e === 255) return sign | 0x7c00 | (m ? 0x200 : 0);
  e = e - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const shift = 14 - e, half = 1 << (shift - 1), rem = m & ((1 << shift) - 1);
    let h = m >> shift;
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (m >> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
const bf16ToQ8 = (name, off = 0, bytes) => (out) => {
  const t = stTensor(name);
  if (t.dtype !== 'BF16') throw new Error(`${name}: expected BF16, got ${t.dtype}`);
  const total = bytes ?? t.bytes;
  const buf = Buffer.allocUnsafe(Math.min(CHUNK, total));
  const res = Buffer.allocUnsafe((buf.length / 64) * 34);
  const xs = new Float32Array(32);
  for (let done = 0; done < total;) {
    const k = Math.min(buf.length, total - done);
    readAt(buf, t.offset + off + done, k);
    let w = 0;
    for (let b = 0; b < k; b += 64) {
      let amax = 0;
      for (let j = 0; j < 32; j++) {
        u32v[0] = buf.readUInt16LE(b + 2 * j) << 16;
        xs[j] = f32v[0];
        amax = Math.max(amax, Math.abs(xs[j]));
      }
      const d = Math.fround(amax / 127), id = d ? 1 / d : 0;
      res.writeUInt16LE(f16Bits(d), w);
      for (let j = 0; j < 32; j++) {
        const v = xs[j] * id;
        res.writeInt8(Math.sign(v) * Math.round(Math.abs(v)), w + 2 + j);
      }
      w += 34;
    }
    out.bytes(res.subarray(0, w));
    done += k;
  }
};
const W = o.q8 ? T.Q8_0 : T.BF16;
const dense = o.q8 ? bf16ToQ8 : bf16Copy;

// bf16 elements [first, first+count) with a stride `step` starting at `first`, written as f32.
const bf16ToF32 = (name, first = 0, count, step = 1) => (out) => {
  const t = stTensor(name);
  if (t.dtype !== 'BF16') throw new Error(`${name}: expected BF16, got ${t.dtype}`);
  const n = count ?? t.bytes / 2;
  const raw = readAt(Buffer.allocUnsafe(t.bytes), t.offset);
  const res = Buffer.allocUnsafe(n * 4);
  for (let i = 0; i < n; i++) res.writeUInt32LE((raw.readUInt16LE((first + i * step) * 2) << 16) >>> 0, i * 4);
  out.bytes(res);
};
// Expert biases [E, rows*stride] -> f32 [E, rows] taking every `stride`-th element from `phase`.
const expertBias = (name, rows, stride, phase) => (out) => {
  const t = stTensor(name);
  const raw = readAt(Buffer.allocUnsafe(t.bytes), t.offset);
  const res = Buffer.allocUnsafe(E * rows * 4);
  for (let e = 0; e < E; e++)
    for (let r = 0; r < rows; r++)
      res.writeUInt32LE((raw.readUInt16LE((e * rows * stride + r * stride + phase) * 2) << 16) >>> 0, (e * rows + r) * 4);
  out.bytes(res);
};
// MXFP4 experts: source blocks [E, srcRows, G, 16] + scales [E, srcRows, G]; destination rows r = 0..rows-1 taken
// from source row r*stride + phase, each row G blocks of 17 bytes (scale, 16 re-ordered nibble bytes).
const mxfp4 = (base, srcRows, rows, stride, phase) => (out) => {
  const tb = stTensor(`${base}.blocks`), ts = stTensor(`${base}.scales`);
  const G = tb.shape[2];
  const rowB = G * 16;
  const blocks = Buffer.allocUnsafe(srcRows * rowB), scales = Buffer.allocUnsafe(srcRows * G);
  const dst = Buffer.allocUnsafe(rows * G * 17);
  for (let e = 0; e < E; e++) {
    readAt(blocks, tb.offset + e * srcRows * rowB);
    readAt(scales, ts.offset + e * srcRows * G);
    let w = 0;
    for (let r = 0; r < rows; r++) {
      const sr = r * stride + phase;
      for (let g = 0; g < G; g++) {
        dst[w++] = scales[sr * G + g];
        const b = (sr * G + g) * 16;
        // value v sits in byte v>>1 of the source block, low nibble for even v; ggml wants v (<16) in the low nibble
        // and v+16 in the high nibble of byte v.
        for (let j = 0; j < 16; j += 2) {
          const lo0 = blocks[b + (j >> 1)], hi0 = blocks[b + 8 + (j >> 1)];
          dst[w++] = (lo0 & 0x0f) | ((hi0 & 0x0f) << 4);
          dst[w++] = (lo0 >> 4) | (hi0 & 0xf0);
        }
      }
    }
    out.bytes(dst);
  }
};

const tensors = [];
const add = (name, dims, type, write) => {
  const n = dims.reduce((a, b) => a * b, 1);
  const bytes = type === T.F32 ? n * 4 : type === T.BF16 ? n * 2 : type === T.Q8_0 ? (n / 32) * 34 : (n / 32) * 17;
  tensors.push({ name, dims, type, bytes, write });
};
add('token_embd.weight', [H, V], W, dense('embedding.weight'));
for (let l = 0; l < L; l++) {
  const p = `block.${l}`, q = `blk.${l}`;
  add(`${q}.attn_norm.weight`, [H], T.F32, bf16ToF32(`${p}.attn.norm.scale`));
  if (o['fused-qkv']) {
    add(`${q}.attn_qkv.weight`, [H, QW + 2 * KW], W, dense(`${p}.attn.qkv.weight`));
    add(`${q}.attn_qkv.bias`, [QW + 2 * KW], T.F32, bf16ToF32(`${p}.attn.qkv.bias`));
  } else {
    add(`${q}.attn_q.weight`, [H, QW], W, dense(`${p}.attn.qkv.weight`, 0, QW * H * 2));
    add(`${q}.attn_k.weight`, [H, KW], W, dense(`${p}.attn.qkv.weight`, QW * H * 2, KW * H * 2));
    add(`${q}.attn_v.weight`, [H, KW], W, dense(`${p}.attn.qkv.weight`, (QW + KW) * H * 2, KW * H * 2));
    add(`${q}.attn_q.bias`, [QW], T.F32, bf16ToF32(`${p}.attn.qkv.bias`, 0, QW));
    add(`${q}.attn_k.bias`, [KW], T.F32, bf16ToF32(`${p}.attn.qkv.bias`, QW, KW));
    add(`${q}.attn_v.bias`, [KW], T.F32, bf16ToF32(`${p}.attn.qkv.bias`, QW + KW, KW));
  }
  add(`${q}.attn_output.weight`, [QW, H], W, dense(`${p}.attn.out.weight`));
  add(`${q}.attn_output.bias`, [H], T.F32, bf16ToF32(`${p}.attn.out.bias`));
  add(`${q}.attn_sinks.weight`, [NQ], T.F32, bf16ToF32(`${p}.attn.sinks`));
  add(`${q}.post_attention_norm.weight`, [H], T.F32, bf16ToF32(`${p}.mlp.norm.scale`));
  add(`${q}.ffn_gate_inp.weight`, [H, E], T.F32, bf16ToF32(`${p}.mlp.gate.weight`));
  add(`${q}.ffn_gate_inp.bias`, [E], T.F32, bf16ToF32(`${p}.mlp.gate.bias`));
  add(`${q}.ffn_gate_exps.weight`, [H, I, E], T.MXFP4, mxfp4(`${p}.mlp.mlp1_weight`, 2 * I, I, 2, 0));
  add(`${q}.ffn_up_exps.weight`, [H, I, E], T.MXFP4, mxfp4(`${p}.mlp.mlp1_weight`, 2 * I, I, 2, 1));
  add(`${q}.ffn_down_exps.weight`, [I, H, E], T.MXFP4, mxfp4(`${p}.mlp.mlp2_weight`, H, H, 1, 0));
  add(`${q}.ffn_gate_exps.bias`, [I, E], T.F32, expertBias(`${p}.mlp.mlp1_bias`, I, 2, 0));
  add(`${q}.ffn_up_exps.bias`, [I, E], T.F32, expertBias(`${p}.mlp.mlp1_bias`, I, 2, 1));
  add(`${q}.ffn_down_exps.bias`, [H, E], T.F32, expertBias(`${p}.mlp.mlp2_bias`, H, 1, 0));
}
add('output_norm.weight', [H], T.F32, bf16ToF32('norm.scale'));
add('output.weight', [H, V], W, dense('unembedding.weight'));

// ---------------------------------------------------------------- metadata
const A = 'gpt-oss';
const t0 = performance.now();
const vocab = buildVocab();
console.log(`tokenizer: ${vocab.nText} text tokens, ${V - vocab.nText} special, ${vocab.merges.length} merges (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
const kv = [
  ['general.architecture', GGUF.STR, A],
  ['general.type', GGUF.STR, 'model'],
  ['general.name', GGUF.STR, `gpt-oss (${L} layers, ${E} experts; converted by gptoss bench/llama-cpp/to-gguf.mjs)`],
  ['general.quantization_version', GGUF.U32, 2],
  ['general.file_type', GGUF.U32, 38], // LLAMA_FTYPE_MOSTLY_MXFP4_MOE
  ['general.alignment', GGUF.U32, ALIGN],
  [`${A}.block_count`, GGUF.U32, L],
  [`${A}.context_length`, GGUF.U32, cfg.initial_context_length * cfg.rope_scaling_factor],
  [`${A}.embedding_length`, GGUF.U32, H],
  [`${A}.feed_forward_length`, GGUF.U32, I],
  [`${A}.expert_feed_forward_length`, GGUF.U32, I],
  [`${A}.attention.head_count`, GGUF.U32, NQ],
  [`${A}.attention.head_count_kv`, GGUF.U32, NKV],
  [`${A}.attention.key_length`, GGUF.U32, D],
  [`${A}.attention.value_length`, GGUF.U32, D],
  [`${A}.attention.layer_norm_rms_epsilon`, GGUF.F32, 1e-5],
  [`${A}.attention.sliding_window`, GGUF.U32, cfg.sliding_window],
  [`${A}.expert_count`, GGUF.U32, E],
  [`${A}.expert_used_count`, GGUF.U32, cfg.experts_per_token],
  [`${A}.rope.freq_base`, GGUF.F32, cfg.rope_theta],
  [`${A}.rope.scaling.type`, GGUF.STR, 'yarn'],
  [`${A}.rope.scaling.factor`, GGUF.F32, cfg.rope_scaling_factor],
  [`${A}.rope.scaling.original_context_length`, GGUF.U32, cfg.initial_context_length],
  [`${A}.rope.scaling.yarn_beta_fast`, GGUF.F32, cfg.rope_ntk_beta],
  [`${A}.rope.scaling.yarn_beta_slow`, GGUF.F32, cfg.rope_ntk_alpha],
  ['tokenizer.ggml.model', GGUF.STR, 'gpt2'],
  ['tokenizer.ggml.pre', GGUF.STR, 'gpt-4o'],
  ['tokenizer.ggml.tokens', GGUF.ARR, [GGUF.STR, vocab.tokens]],
  ['tokenizer.ggml.token_type', GGUF.ARR, [GGUF.I32, vocab.types]],
  ['tokenizer.ggml.merges', GGUF.ARR, [GGUF.STR, vocab.merges]],
  ['tokenizer.ggml.bos_token_id', GGUF.U32, 199998],
  ['tokenizer.ggml.eos_token_id', GGUF.U32, 200002],
  ['tokenizer.ggml.padding_token_id', GGUF.U32, 199999],
  ['tokenizer.ggml.add_bos_token', GGUF.BOOL, false],
];

const tmpPath = `${outPath}.partial`;
const out = new Out(tmpPath);
out.bytes(Buffer.from('GGUF', 'latin1'));
out.u32(3);
out.u64(tensors.length);
out.u64(kv.length);
const scalar = (type, v) => {
  if (type === GGUF.STR) out.str(v);
  else if (type === GGUF.U32) out.u32(v);
  else if (type === GGUF.I32) out.i32(v);
  else if (type === GGUF.F32) out.f32(v);
  else if (type === GGUF.BOOL) out.bytes(Buffer.from([v ? 1 : 0]));
  else throw new Error(`type ${type}`);
};
for (const [key, type, v] of kv) {
  out.str(key);
  out.u32(type);
  if (type === GGUF.ARR) {
    const [et, arr] = v;
    out.u32(et);
    out.u64(arr.length);
    for (const x of arr) scalar(et, x);
  } else scalar(type, v);
}
let off = 0;
for (const t of tensors) {
  out.str(t.name);
  out.u32(t.dims.length);
  for (const d of t.dims) out.u64(d);
  out.u32(t.type);
  out.u64(off);
  t.offset = off;
  off += Math.ceil(t.bytes / ALIGN) * ALIGN;
}
out.pad();
const dataStart = out.pos;
console.log(`${tensors.length} tensors, ${kv.length} metadata keys, data ${(off / 1e9).toFixed(2)} GB at offset ${dataStart}`);
if (o['no-weights']) {
  out.close();
  console.log('--no-weights: header only');
  process.exit(0);
}
let lastLog = performance.now();
for (const [i, t] of tensors.entries()) {
  if (out.pos - dataStart !== t.offset) throw new Error(`${t.name}: offset mismatch`);
  const before = out.pos;
  t.write(out);
  if (out.pos - before !== t.bytes) throw new Error(`${t.name}: wrote ${out.pos - before} bytes, expected ${t.bytes}`);
  out.pad();
  if (performance.now() - lastLog > 15000 || i === tensors.length - 1) {
    lastLog = performance.now();
    console.log(`  ${i + 1}/${tensors.length} ${t.name}  ${((out.pos - dataStart) / 1e9).toFixed(2)} GB  ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}
out.close();
closeSync(src);
renameSync(tmpPath, outPath);
console.log(`wrote ${outPath} (${(out.pos / 1e9).toFixed(2)} GB) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
