#!/usr/bin/env node
// Spot check of a GGUF written by to-gguf.mjs against the original checkpoint: dequantises sampled expert rows both
// from the checkpoint's MXFP4 (value 2j / 2j+1 in the low / high nibble of byte j, separate E8M0 scale tensor) and from
// the GGUF's ggml block_mxfp4 (scale byte, then value j / j+16 in the low / high nibble of byte j) and compares them
// exactly; also compares the q/k/v slices, attention sinks and the router against the checkpoint.
//   node bench/llama-cpp/verify-gguf.mjs [--model DIR] [--gguf FILE]
import { openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    model: { type: 'string', default: '/work/bigmodels/gpt-oss-20b' },
    gguf: { type: 'string' },
    samples: { type: 'string', default: '64' },
  },
});
const FP4 = [0, 0.5, 1, 1.5, 2, 3, 4, 6, -0, -0.5, -1, -1.5, -2, -3, -4, -6];
const st = openSync(join(o.model, 'model.safetensors'), 'r');
const pread = (fd, n, pos) => { const b = Buffer.alloc(n); readSync(fd, b, 0, n, pos); return b; };
const hl = Number(pread(st, 8, 0).readBigUInt64LE(0));
const h = JSON.parse(pread(st, hl, 8).toString('utf8'));
const stAt = (name) => 8 + hl + h[name].data_offsets[0];

const g = openSync(o.gguf ?? `${o.model.replace(/\/+$/, '')}.gguf`, 'r');
let pos = 0;
const rd = (n) => { const b = pread(g, n, pos); pos += n; return b; };
const u32 = () => rd(4).readUInt32LE(0), u64 = () => Number(rd(8).readBigUInt64LE(0));
const str = () => rd(u64()).toString('utf8');
const size = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const skip = (t) => {
  if (t === 8) str();
  else if (t === 9) { const et = u32(); const n = u64(); for (let i = 0; i < n; i++) skip(et); }
  else rd(size[t]);
};
if (rd(4).toString('latin1') !== 'GGUF') throw new Error('not a GGUF file');
u32();
const nt = u64(), nkv = u64();
let align = 32;
for (let i = 0; i < nkv; i++) {
  const k = str(), t = u32();
  if (k === 'general.alignment') align = u32();
  else skip(t);
}
const T = {};
for (let i = 0; i < nt; i++) {
  const name = str(), nd = u32(), dims = [];
  for (let j = 0; j < nd; j++) dims.push(u64());
  T[name] = { dims, type: u32(), off: u64() };
}
const base = Math.ceil(pos / align) * align;
const E = h['block.0.mlp.mlp1_bias'].shape[0], I2 = h['block.0.mlp.mlp1_bias'].shape[1], H = h['block.0.mlp.mlp2_bias'].shape[1];
const L = Object.keys(h).filter((k) => k.endsWith('.attn.sinks')).length;
const G = H / 32;

let seed = 7;
const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
let checked = 0, bad = 0;
for (let s = 0; s < Number(o.samples); s++) {
  const l = rnd(L), e = rnd(E), which = ['gate', 'up', 'down'][s % 3];
  const down = which === 'down';
  const rows = down ? H : I2 / 2, r = rnd(rows);
  const src = `block.${l}.mlp.${down ? 'mlp2' : 'mlp1'}_weight`;
  const srcRows = down ? H : I2, sr = down ? r : 2 * r + (which === 'up' ? 1 : 0);
  const blk = pread(st, G * 16, stAt(`${src}.blocks`) + (e * srcRows + sr) * G * 16);
  const sc = pread(st, G, stAt(`${src}.scales`) + (e * srcRows + sr) * G);
  const t = T[`blk.${l}.ffn_${which}_exps.weight`];
  if (t.type !== 39) throw new Error(`blk.${l}.ffn_${which}_exps.weight is type ${t.type}, not MXFP4`);
  const row = pread(g, G * 17, base + t.off + (e * t.dims[1] + r) * G * 17);
  for (let k = 0; k < H; k++) {
    const gi = k >> 5, m = k & 31;
    const b = blk[gi * 16 + (m >> 1)];
    const a = FP4[m & 1 ? b >> 4 : b & 15] * 2 ** (sc[gi] - 127);
    const q = row[gi * 17 + 1 + (m & 15)];
    const c = FP4[m < 16 ? q & 15 : q >> 4] * 2 ** (row[gi * 17] - 127);
    if (!Object.is(a, c) && !(Number.isNaN(a) && Number.isNaN(c))) bad++;
    checked++;
  }
}
// bf16 slices: q/k/v rows (split or fused) and f32 copies of sinks and router weights.
const bf = (b, i) => { const x = Buffer.alloc(4); x.writeUInt32LE((b.readUInt16LE(i * 2) << 16) >>> 0); return x.readFloatLE(0); };
let other = 0, otherBad = 0;
for (let l = 0; l < L; l += 5) {
  const qkv = pread(st, 3 * H * 2, stAt(`block.${l}.attn.qkv.weight`) + 4100 * H * 2);
  const fused = T[`blk.${l}.attn_qkv.weight`];
  const k = fused ? pread(g, 3 * H * 2, base + fused.off + 4100 * H * 2) : pread(g, 3 * H * 2, base + T[`blk.${l}.attn_k.weight`].off + 4 * H * 2);
  if (Buffer.compare(qkv, k)) otherBad++;
  const sinks = pread(st, 128, stAt(`block.${l}.attn.sinks`)), gs = pread(g, 256, base + T[`blk.${l}.attn_sinks.weight`].off);
  const gate = pread(st, E * H * 2, stAt(`block.${l}.mlp.gate.weight`)), gg = pread(g, E * H * 4, base + T[`blk.${l}.ffn_gate_inp.weight`].off);
  for (let i = 0; i < 64; i++) if (bf(sinks, i) !== gs.readFloatLE(i * 4)) otherBad++;
  for (let i = 0; i < E * H; i += 97) if (bf(gate, i) !== gg.readFloatLE(i * 4)) otherBad++;
  other++;
}
console.log(`${nt} tensors; ${checked} expert weights compared, ${bad} differ; ${other} layers of k rows/sinks/router compared, ${otherBad} differ`);
process.exitCode = bad || otherBad ? 1 : 0;
