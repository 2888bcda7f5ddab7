// The kernels, written once against a small SIMD abstraction `S` and compiled three times (isa-scalar.cc,
// isa-avx2.cc, isa-avx512.cc), each with its own -m flags, inside its own namespace. `S` provides:
//   W (floats per vector), kMaxR/kMaxT (register tile: weight rows x tokens), F (vector type),
//   zero/set1/load/store/fma(a,b,c)=a*b+c/mul/hsum, load_bf16(p) (W bf16 -> fp32),
//   fp4_block(p, out[32/W]) (one 16-byte MXFP4 block -> 32 values times two, even values first, then odd).
// Activations and accumulation are fp32 throughout; weights are widened in registers and never stored wider,
// except for the prefill path, which widens a panel of rows once into a per-thread scratch that stays in L2.
// On AVX-512 VNNI the MXFP4 prefill path instead multiplies int16 panels with int16-quantized activations
// (S::i16gemm, see i16-gemm-avx512.h): twice the fp32 FMA rate, still well inside the fp32 tolerance.
// It is included inside a namespace, so it includes nothing itself: isa-*.cc include the headers it needs.

namespace {

using F = S::F;
constexpr int W = S::W;
constexpr int NV = 32 / W;  // vectors per MXFP4 block
// Up to this many tokens, weights are read straight from the checkpoint for each tile of tokens (decode, batched
// decode, small groups of an expert); above it a panel of rows is widened once and reused for all tokens.
constexpr int64_t kDirectMaxT = 4;
constexpr int64_t kPanelRows = 16;
// Rows per task of the int16 MXFP4 prefill path: its register tile covers 2 x 16 rows.
constexpr int64_t kI16PanelRows = 32;

// ---- register tiles: NR weight rows x NT tokens, K-long dot products --------------------------------------

template <int NR, int NT>
inline void tile_bf16(const uint8_t* w, size_t row_bytes, int64_t K, const float* const* xs, float* res, int ldr) {
  F acc[NR][NT];
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) acc[r][t] = S::zero();
  int64_t k = 0;
  for (; k + W <= K; k += W) {
    F wv[NR];
    for (int r = 0; r < NR; r++) wv[r] = S::load_bf16(w + r * row_bytes + 2 * k);
    for (int t = 0; t < NT; t++) {
      F xv = S::load(xs[t] + k);
      for (int r = 0; r < NR; r++) acc[r][t] = S::fma(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) {
      float s = S::hsum(acc[r][t]);
      for (int64_t kk = k; kk < K; kk++) s += gptoss::load_bf16(w + r * row_bytes, kk) * xs[t][kk];
      res[t * ldr + r] = s;
    }
}

template <int NR, int NT>
inline void tile_f32(const float* w, int64_t ldw, int64_t K, const float* const* xs, float* res, int ldr) {
  F acc[NR][NT];
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) acc[r][t] = S::zero();
  int64_t k = 0;
  for (; k + W <= K; k += W) {
    F wv[NR];
    for (int r = 0; r < NR; r++) wv[r] = S::load(w + r * ldw + k);
    for (int t = 0; t < NT; t++) {
      F xv = S::load(xs[t] + k);
      for (int r = 0; r < NR; r++) acc[r][t] = S::fma(wv[r], xv, acc[r][t]);
    }
  }
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) {
      float s = S::hsum(acc[r][t]);
      for (int64_t kk = k; kk < K; kk++) s += w[r * ldw + kk] * xs[t][kk];
      res[t * ldr + r] = s;
    }
}

// MXFP4 rows straight from the checkpoint; xs are block-deinterleaved.
template <int NR, int NT>
inline void tile_mxfp4(const uint8_t* blocks, const uint8_t* scales, int64_t G, const float* const* xs, float* res,
                       int ldr) {
  F acc[NR][NT];
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) acc[r][t] = S::zero();
  for (int64_t g = 0; g < G; g++) {
    for (int r = 0; r < NR; r++) {
      F wv[NV];
      S::fp4_block(blocks + (r * G + g) * 16, wv);
      F sc = S::set1(gptoss::kScaleHalf[scales[r * G + g]]);
      for (int t = 0; t < NT; t++) {
        const float* xp = xs[t] + g * 32;
        F b = S::mul(wv[0], S::load(xp));
        for (int v = 1; v < NV; v++) b = S::fma(wv[v], S::load(xp + v * W), b);
        acc[r][t] = S::fma(b, sc, acc[r][t]);
      }
    }
  }
  for (int r = 0; r < NR; r++)
    for (int t = 0; t < NT; t++) res[t * ldr + r] = S::hsum(acc[r][t]);
}

// Run-time (nr, nt) -> template instance.
template <int NR>
inline void tile_any_t(int nt, const gptoss::Weight& w, int64_t r, const float* panel, int64_t ldp,
                       const float* const* xs, float* res, int ldr) {
#define GPTOSS_TILE(NT)                                                                                      \
  case NT:                                                                                                   \
    if (panel) {                                                                                             \
      tile_f32<NR, NT>(panel, ldp, w.k, xs, res, ldr);                                                       \
    } else if (w.format == gptoss::kWMXFP4) {                                                                \
      const int64_t G = w.k / 32;                                                                            \
      tile_mxfp4<NR, NT>(w.data + r * G * 16, w.scales + r * G, G, xs, res, ldr);                            \
    } else {                                                                                                 \
      tile_bf16<NR, NT>(w.data + r * w.k * 2, static_cast<size_t>(w.k) * 2, w.k, xs, res, ldr);              \
    }                                                                                                        \
    break;
  switch (nt) {
    GPTOSS_TILE(1)
    GPTOSS_TILE(2)
    GPTOSS_TILE(3)
    GPTOSS_TILE(4)
    default: break;
  }
#undef GPTOSS_TILE
}

inline void tile_any(int nr, int nt, const gptoss::Weight& w, int64_t r, const float* panel, int64_t ldp,
                     const float* const* xs, float* res, int ldr) {
  switch (nr) {
    case 1: tile_any_t<1>(nt, w, r, panel, ldp, xs, res, ldr); break;
    case 2: tile_any_t<2>(nt, w, r, panel, ldp, xs, res, ldr); break;
    case 3: tile_any_t<3>(nt, w, r, panel, ldp, xs, res, ldr); break;
    case 4: tile_any_t<4>(nt, w, r, panel, ldp, xs, res, ldr); break;
    default: break;
  }
}

// Widens rows [r0, r0+nr) to fp32 (MXFP4 rows stay in deinterleaved order, matching deinterleaved activations).
inline void widen_rows(const gptoss::Weight& w, int64_t r0, int64_t nr, float* dst) {
  const int64_t K = w.k;
  if (w.format == gptoss::kWMXFP4) {
    const int64_t G = K / 32;
    for (int64_t r = 0; r < nr; r++)
      for (int64_t g = 0; g < G; g++) {
        F wv[NV];
        S::fp4_block(w.data + ((r0 + r) * G + g) * 16, wv);
        F sc = S::set1(gptoss::kScaleHalf[w.scales[(r0 + r) * G + g]]);
        for (int v = 0; v < NV; v++) S::store(dst + r * K + g * 32 + v * W, S::mul(wv[v], sc));
      }
    return;
  }
  if (w.format == gptoss::kWF32) {
    std::memcpy(dst, w.data + r0 * K * 4, static_cast<size_t>(nr * K) * 4);
    return;
  }
  for (int64_t r = 0; r < nr; r++) {
    const uint8_t* src = w.data + (r0 + r) * K * 2;
    int64_t k = 0;
    for (; k + W <= K; k += W) S::store(dst + r * K + k, S::load_bf16(src + 2 * k));
    for (; k < K; k++) dst[r * K + k] = gptoss::load_bf16(src, k);
  }
}

// MXFP4 rows -> bf16 (deinterleaved order); exact, since e2m1 values times a power of two fit bf16.
inline void widen_rows_bf16(const gptoss::Weight& w, int64_t r0, int64_t nr, uint16_t* dst) {
  const int64_t K = w.k, G = K / 32;
  for (int64_t r = 0; r < nr; r++)
    for (int64_t g = 0; g < G; g++) {
      const uint8_t* b = w.data + ((r0 + r) * G + g) * 16;
      const float sc = gptoss::kScaleHalf[w.scales[(r0 + r) * G + g]];
      uint16_t* o = dst + r * K + g * 32;
      S::widen_block_bf16(b, sc, o);
    }
}

struct Scratch {
  std::vector<float> panel, res;
  std::vector<uint16_t> panel16;
  std::vector<uint16_t> xsplit;
  std::vector<const float*> xs;
};
inline Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// Activations as bf16 hi + lo parts for the bf16 dot paths, per token [hi K][lo K]. bf16 weights: natural order.
// MXFP4 weights (x deinterleaved): per pair of blocks [A even, B even, A odd, B odd], the order the nibbles decode in.
inline void split_activations(int format, const float* x, int64_t ldx, int64_t T, int64_t K, uint16_t* out) {
  for (int64_t t = 0; t < T; t++) {
    uint16_t* hi = out + 2 * t * K;
    const float* xr = x + t * ldx;
    auto put = [&](int64_t dst, float v) {
      const uint16_t h = gptoss::f32_to_bf16(v);
      hi[dst] = h;
      hi[K + dst] = gptoss::f32_to_bf16(v - gptoss::bf16_to_f32(h));
    };
    if (format == gptoss::kWMXFP4) {
      const int64_t P = K / 64;
      for (int64_t p = 0; p < P; p++) {
        const float* src[4] = {xr + 64 * p, xr + 64 * p + 32, xr + 64 * p + 16, xr + 64 * p + 48};
        for (int q = 0; q < 4; q++)
          for (int j = 0; j < 16; j++) put(64 * p + 16 * q + j, src[q][j]);
      }
    } else {
      for (int64_t k = 0; k < K; k++) put(k, xr[k]);
    }
  }
}

// int8 activations for the MXFP4 decode path (S::mxfp4dot_row_q8), per token: Q = ceil(G / 4) groups of 4 blocks,
// q [Q][128] (the 4 blocks' even halves, then their odd halves, from block-deinterleaved x), d [Q * 4] (x ~= d * q),
// c [Q * 16] (per block, -12 * sum(q) in its first int32 lane). Blocks past G are zero.
struct Q8View {
  const int8_t* q = nullptr;
  const float* d = nullptr;
  const int32_t* c = nullptr;
  int64_t groups = 0;
};
struct Q8Buffer {
  std::vector<int8_t> q;
  std::vector<float> d;
  std::vector<int32_t> c;
  int64_t groups = 0;
  Q8View view() const { return Q8View{q.data(), d.data(), c.data(), groups}; }
};
inline void quantize_q8(const float* x, int64_t ldx, int64_t T, int64_t K, Q8Buffer& out) {
  const int64_t G = K / 32, Q = (G + 3) / 4;
  out.groups = Q;
  out.q.assign(T * Q * 128, 0);
  out.d.assign(T * Q * 4, 0.f);
  out.c.assign(T * Q * 16, 0);
  for (int64_t t = 0; t < T; t++) {
    const float* xr = x + t * ldx;
    for (int64_t g = 0; g < G; g++) {
      int8_t* qb = out.q.data() + (t * Q + g / 4) * 128 + (g % 4) * 16;
      S::quantize_block_q8(xr + g * 32, qb, qb + 64, &out.d[t * Q * 4 + g], &out.c[(t * Q * 4 + g) * 4]);
    }
  }
}

// int16 activations split into two int8 halves for the MXFP4 decode path (S::i16v_row), per token: hl [Q][256],
// d [Q][4], c [Q][16] with Q = ceil(G / 4) groups of 4 blocks (layout: i16-gemv-avx512.h).
struct I16vView {
  const int8_t* hl = nullptr;
  const float* d = nullptr;
  const int32_t* c = nullptr;
  int64_t groups = 0;
};
struct I16vBuffer {
  std::vector<int8_t> hl;
  std::vector<float> d;
  std::vector<int32_t> c;
  int64_t groups = 0;
  I16vView view() const { return I16vView{hl.data(), d.data(), c.data(), groups}; }
};
inline void quantize_i16v(const float* x, int64_t ldx, int64_t T, int64_t K, I16vBuffer& out) {
  const int64_t G = K / 32, Q = (G + 3) / 4;
  out.groups = Q;
  out.hl.resize(T * Q * 256);
  out.d.resize(T * Q * 4);
  out.c.resize(T * Q * 16);
  for (int64_t t = 0; t < T; t++)
    S::i16v_quantize(x + t * ldx, G, out.hl.data() + t * Q * 256, out.d.data() + t * Q * 4, out.c.data() + t * Q * 16);
}

// int16 activations for the MXFP4 prefill path (S::i16gemm), per token and 32-block: q [T][G][16] int32 pairs
// (x[2k] in the low half, x[2k + 1] in the high half), d [T][G] (x ~= d * q).
// With i8 (opt-in int8 prefill, S::i8gemm): q [T][G][8] int32, each 4 bytes of activations + 128 (i8-gemm-avx512.h).
struct I16View {
  const int32_t* q = nullptr;
  const float* d = nullptr;
  bool i8 = false;
};
struct I16Buffer {
  std::vector<int32_t> q;
  std::vector<float> d;
  bool i8 = false;
  I16View view() const { return I16View{q.data(), d.data(), i8}; }
};
// kInts int32 per token and block: 8 (int8 quads, S::i8_quantize_block) or 16 (int16 pairs, S::i16_quantize_block).
template <int kInts>
inline void quantize_blocks(const float* x, int64_t ldx, int64_t T, int64_t K, I16Buffer& out) {
  const int64_t G = K / 32;
  out.i8 = kInts == 8;
  out.q.resize(T * G * kInts);
  out.d.resize(T * G);
  for (int64_t t = 0; t < T; t++)
    for (int64_t g = 0; g < G; g++) {
      int32_t* q = &out.q[(t * G + g) * kInts];
      float* d = &out.d[t * G + g];
      if (kInts == 8)
        S::i8_quantize_block(x + t * ldx + g * 32, q, d);
      else
        S::i16_quantize_block(x + t * ldx + g * 32, q, d);
    }
}

// Raw (no bias) dot products of rows [r0, r1) with all tokens, into res[t * (r1 - r0) + (r - r0)].
inline void rows_times_tokens(const gptoss::Weight& w, const float* x, int64_t ldx, int64_t T, int64_t r0, int64_t r1,
                              float* res, const uint16_t* xsplit = nullptr, const uint16_t* xbf16 = nullptr,
                              const Q8View* q8 = nullptr, const I16View* x16 = nullptr,
                              const I16vView* xv = nullptr) {
  Scratch& s = scratch();
  const int64_t n = r1 - r0;
  const int ldr = static_cast<int>(n);
  if (static_cast<int64_t>(s.xs.size()) < T) s.xs.resize(T);
  for (int64_t t = 0; t < T; t++) s.xs[t] = x + t * ldx;
  const bool direct = T <= kDirectMaxT || w.format == gptoss::kWF32;
  if (!direct && x16 && w.format == gptoss::kWMXFP4) {
    const int64_t G = w.k / 32;
    // The pool hands out tasks in order, so the rows `threads` chunks ahead are likely this thread's next panel.
    const int64_t ahead = r0 + n * gptoss::ThreadPool::instance().size();
    const int64_t next_rows = std::min(n, w.rows - ahead);
    const uint8_t* next = next_rows > 0 ? w.data + ahead * G * 16 : nullptr;
    const int64_t next_bytes = next_rows > 0 ? next_rows * G * 16 : 0;
    if (x16->i8)
      S::i8gemm(n, T, w.data + r0 * G * 16, w.scales + r0 * G, G, x16->q, x16->d, res, ldr, next, next_bytes);
    else
      S::i16gemm(n, T, w.data + r0 * G * 16, w.scales + r0 * G, G, x16->q, x16->d, res, ldr, next, next_bytes);
    return;
  }
  const float* panel = nullptr;
  int64_t ldp = w.k;
  if (!direct && xbf16) {
    // bf16 prefill: bf16 weight rows are used in place; MXFP4 rows are widened to (exact) bf16 once per panel.
    const int64_t K = w.k;
    const uint8_t* rows = nullptr;
    if (w.format == gptoss::kWMXFP4) {
      if (static_cast<int64_t>(s.panel16.size()) < n * K) s.panel16.resize(n * K);
      widen_rows_bf16(w, r0, n, s.panel16.data());
      rows = reinterpret_cast<const uint8_t*>(s.panel16.data());
    } else {
      rows = w.data + r0 * K * 2;
    }
    for (int64_t t = 0; t < T; t++) s.xs[t] = x + t * ldx;
    S::bf16gemm(static_cast<int>(n), static_cast<int>(T), rows, K, xbf16, s.xs.data(), res, ldr);
    return;
  }
  if (!direct) {
    if (static_cast<int64_t>(s.panel.size()) < n * w.k) s.panel.resize(n * w.k);
    widen_rows(w, r0, n, s.panel.data());
    panel = s.panel.data();
  } else if (w.format == gptoss::kWF32) {
    panel = reinterpret_cast<const float*>(w.data) + r0 * w.k;
  }
  if (direct && xv && w.format == gptoss::kWMXFP4) {
    const int64_t G = w.k / 32, Q = xv->groups;
    for (int64_t t = 0; t < T; t++)
      S::i16v_gemv(n, w.data + r0 * G * 16, w.scales + r0 * G, G, xv->hl + t * Q * 256, xv->d + t * Q * 4,
                   xv->c + t * Q * 16, res + t * ldr);
    return;
  }
  if (direct && q8 && w.format == gptoss::kWMXFP4) {
    const int64_t G = w.k / 32, Q = q8->groups;
    for (int64_t r = 0; r < n; r++)
      for (int64_t t = 0; t < T; t++)
        S::mxfp4dot_row_q8(w.data + (r0 + r) * G * 16, w.scales + (r0 + r) * G, G, q8->q + t * Q * 128,
                           q8->d + t * Q * 4, q8->c + t * Q * 16, res + t * ldr + r);
    return;
  }
  if (direct && S::bf16dot_enabled() && (w.format == gptoss::kWMXFP4 || w.format == gptoss::kWBF16)) {
    const int64_t K = w.k;
    const uint16_t* xsp = xsplit;
    if (!xsp) {
      if (static_cast<int64_t>(s.xsplit.size()) < 2 * T * K) s.xsplit.resize(2 * T * K);
      split_activations(w.format, x, ldx, T, K, s.xsplit.data());
      xsp = s.xsplit.data();
    }
    for (int64_t t = 0; t < T; t++) s.xs[t] = x + t * ldx;
    if (w.format == gptoss::kWMXFP4) {
      const int64_t G = K / 32;
      for (int64_t r = 0; r < n; r += 4) {
        const int nr = static_cast<int>(std::min<int64_t>(4, n - r));
        S::mxfp4dot(nr, static_cast<int>(T), w.data + (r0 + r) * G * 16, w.scales + (r0 + r) * G, G, xsp, s.xs.data(),
                    res + r, ldr);
      }
    } else {
      for (int64_t r = 0; r < n; r += 4) {
        const int nr = static_cast<int>(std::min<int64_t>(4, n - r));
        S::bf16dot(nr, static_cast<int>(T), w.data + (r0 + r) * K * 2, K, xsp, s.xs.data(), res + r, ldr);
      }
    }
    return;
  }
  for (int64_t t = 0; t < T; t += S::kMaxT) {
    const int nt = static_cast<int>(std::min<int64_t>(S::kMaxT, T - t));
    for (int64_t r = 0; r < n; r += S::kMaxR) {
      const int nr = static_cast<int>(std::min<int64_t>(S::kMaxR, n - r));
      tile_any(nr, nt, w, r0 + r, panel ? panel + r * ldp : nullptr, ldp, s.xs.data() + t, res + t * ldr + r, ldr);
    }
  }
}

inline float swiglu(float gate, float lin, float limit, float alpha) {
  gate = std::min(gate, limit);
  lin = std::max(-limit, std::min(lin, limit));
  return gate / (1.f + std::exp(-alpha * gate)) * (lin + 1.f);
}

// Column j of a row in block-deinterleaved order.
inline int64_t deint_index(int64_t j) {
  const int64_t m = j & 31;
  return (j & ~int64_t(31)) + ((m & 1) ? 16 + (m >> 1) : (m >> 1));
}

struct Job {
  gptoss::MatmulArgs a;
  bool deint_out = false;  // swiglu output written block-deinterleaved (it feeds an MXFP4 matmul)
  int64_t chunk = 0, n_chunks = 0;
  std::vector<uint16_t> xsplit;  // activations prepared once per job for the bf16 dot paths
  std::vector<uint16_t> xbf16;   // bf16 prefill: activations rounded to bf16, [T][K]
  Q8Buffer xq8;                  // int8 decode (MXFP4 weights): quantized activations
  bool q8 = false;
  I16Buffer x16;                 // int16 prefill (MXFP4 weights): quantized activations
  bool i16 = false;
  I16vBuffer xv;                 // int16 decode (MXFP4 weights): quantized, split activations
  bool i16v = false;
};

// Runs several independent matmuls as one parallel job, so that a decode step's experts share one barrier.
inline void run_jobs(Job* jobs, int n_jobs) {
  gptoss::ThreadPool& pool = gptoss::ThreadPool::instance();
  const int threads = pool.size();
  int64_t total_rows = 0;
  for (int j = 0; j < n_jobs; j++) total_rows += jobs[j].a.w.rows;
  std::vector<int64_t> first(n_jobs + 1, 0);
  for (int j = 0; j < n_jobs; j++) {
    Job& jb = jobs[j];
    const int64_t R = jb.a.w.rows;
    int64_t chunk;
    // The int16 path is chosen unless the bf16 prefill (explicitly asked for) applies; the opt-in int8 prefill
    // (same tiling, int8 activations) replaces it where asked for, even with the int16 switch off.
    const bool i8 = jb.a.t > kDirectMaxT && jb.a.w.format == gptoss::kWMXFP4 && !jb.a.exact && S::i8_enabled();
    jb.i16 = i8 || (jb.a.t > kDirectMaxT && jb.a.w.format == gptoss::kWMXFP4 && !jb.a.exact && S::i16_enabled() &&
                    !(S::bf16dot_enabled() && gptoss::prefill_bf16()));
    if (jb.i16) {
      chunk = kI16PanelRows;
    } else if (jb.a.t > kDirectMaxT) {
      chunk = kPanelRows;
    } else {
      // About 8 tasks per thread over the whole job for balance, at least 8 rows (tile and prefetch friendly).
      chunk = std::max<int64_t>(8, total_rows / (threads * 8));
      chunk = std::min<int64_t>(chunk, 256);
    }
    chunk = (chunk + 1) & ~int64_t(1);  // even: SwiGLU pairs never straddle tasks
    jb.xsplit.clear();
    jb.xbf16.clear();
    // The opt-in int8 prefill is a low-precision mode as a whole: its bf16-weight GEMMs (attention qkv / out) take
    // bf16 activations too (the bf16 prefill's path, ~1e-3 per GEMM, below the int8 GEMMs' ~5e-3). The router is
    // `exact` and stays fp32.
    const bool bf16_acts = gptoss::prefill_bf16() || (S::i8_enabled() && jb.a.w.format == gptoss::kWBF16);
    if (jb.a.t > kDirectMaxT && S::bf16dot_enabled() && bf16_acts && jb.a.w.format != gptoss::kWF32 && !jb.a.exact) {
      const int64_t K = jb.a.w.k;
      jb.xbf16.resize(jb.a.t * K);
      for (int64_t t = 0; t < jb.a.t; t++)
        for (int64_t k = 0; k < K; k++) jb.xbf16[t * K + k] = gptoss::f32_to_bf16(jb.a.x[t * jb.a.ldx + k]);
    }
    jb.q8 = jb.a.t <= kDirectMaxT && jb.a.w.format == gptoss::kWMXFP4 && !jb.a.exact && S::int8_enabled();
    if (jb.q8) quantize_q8(jb.a.x, jb.a.ldx, jb.a.t, jb.a.w.k, jb.xq8);
    jb.i16v = jb.a.t <= kDirectMaxT && jb.a.w.format == gptoss::kWMXFP4 && !jb.a.exact && !jb.q8 && S::i16v_enabled();
    if (jb.i16v) quantize_i16v(jb.a.x, jb.a.ldx, jb.a.t, jb.a.w.k, jb.xv);
    if (jb.i16 && i8)
      quantize_blocks<8>(jb.a.x, jb.a.ldx, jb.a.t, jb.a.w.k, jb.x16);
    else if (jb.i16)
      quantize_blocks<16>(jb.a.x, jb.a.ldx, jb.a.t, jb.a.w.k, jb.x16);
    if (!jb.q8 && !jb.i16v && jb.a.t <= kDirectMaxT && S::bf16dot_enabled() && jb.a.w.format != gptoss::kWF32) {
      jb.xsplit.resize(2 * jb.a.t * jb.a.w.k);
      split_activations(jb.a.w.format, jb.a.x, jb.a.ldx, jb.a.t, jb.a.w.k, jb.xsplit.data());
    }
    jb.chunk = chunk;
    jb.n_chunks = (R + chunk - 1) / chunk;
    first[j + 1] = first[j] + jb.n_chunks;
  }
  std::vector<Q8View> q8v(n_jobs);
  std::vector<I16View> i16v(n_jobs);
  std::vector<I16vView> xvv(n_jobs);
  for (int j = 0; j < n_jobs; j++) {
    q8v[j] = jobs[j].xq8.view();
    i16v[j] = jobs[j].x16.view();
    xvv[j] = jobs[j].xv.view();
  }
  pool.parallel_for(first[n_jobs], [&](int64_t task, int) {
    int j = static_cast<int>(std::upper_bound(first.begin(), first.end(), task) - first.begin()) - 1;
    const Job& jb = jobs[j];
    const gptoss::MatmulArgs& a = jb.a;
    const int64_t r0 = (task - first[j]) * jb.chunk;
    const int64_t r1 = std::min(a.w.rows, r0 + jb.chunk);
    const int64_t n = r1 - r0;
    Scratch& s = scratch();
    if (static_cast<int64_t>(s.res.size()) < a.t * n) s.res.resize(a.t * n);
    float* res = s.res.data();
    rows_times_tokens(a.w, a.x, a.ldx, a.t, r0, r1, res, jb.xsplit.empty() ? nullptr : jb.xsplit.data(),
                      jb.xbf16.empty() ? nullptr : jb.xbf16.data(), jb.q8 ? &q8v[j] : nullptr,
                      jb.i16 ? &i16v[j] : nullptr, jb.i16v ? &xvv[j] : nullptr);
    for (int64_t t = 0; t < a.t; t++) {
      const float* h = res + t * n;
      float* o = a.out + t * a.ldo;
      if (a.epilogue == gptoss::kSwiglu) {
        for (int64_t i = 0; i + 1 < n; i += 2) {
          float g = h[i], l = h[i + 1];
          if (a.bias) {
            g += a.bias.at(r0 + i);
            l += a.bias.at(r0 + i + 1);
          }
          const int64_t col = (r0 + i) / 2;
          o[jb.deint_out ? deint_index(col) : col] = swiglu(g, l, a.swiglu_limit, a.swiglu_alpha);
        }
      } else {
        for (int64_t i = 0; i < n; i++) o[r0 + i] = h[i] + (a.bias ? a.bias.at(r0 + i) : 0.f);
      }
    }
  });
}

void matmul(const gptoss::MatmulArgs& a) {
  if (a.t <= 0 || a.w.rows <= 0) return;
  Job jb;
  jb.a = a;
  run_jobs(&jb, 1);
}

// ---- RMSNorm -------------------------------------------------------------------------------------------------

void rmsnorm(const float* x, int64_t T, int64_t n, gptoss::Vec scale, float eps, float* out) {
  for (int64_t t = 0; t < T; t++) {
    const float* xr = x + t * n;
    float* o = out + t * n;
    F acc = S::zero();
    int64_t k = 0;
    for (; k + W <= n; k += W) {
      F v = S::load(xr + k);
      acc = S::fma(v, v, acc);
    }
    float ss = S::hsum(acc);
    for (; k < n; k++) ss += xr[k] * xr[k];
    const float inv = 1.f / std::sqrt(ss / static_cast<float>(n) + eps);
    for (int64_t i = 0; i < n; i++) o[i] = xr[i] * inv * scale.at(i);
  }
}

// ---- RoPE (YaRN), GPT-NeoX half rotation, in place ---------------------------------------------------------

void rope(float* x, int64_t T, int64_t ld, int n_heads, const int32_t* positions, const gptoss::RopeParams& p) {
  const int half = p.head_dim / 2;
  std::vector<float> inv(half), c(half), s(half);
  float conc = 1.f;
  gptoss::yarn_inv_freq(p, inv.data(), &conc);
  for (int64_t t = 0; t < T; t++) {
    const float pos = static_cast<float>(positions[t]);
    for (int i = 0; i < half; i++) {
      const float f = pos * inv[i];  // fp32 product, as the reference computes it
      c[i] = static_cast<float>(std::cos(static_cast<double>(f))) * conc;
      s[i] = static_cast<float>(std::sin(static_cast<double>(f))) * conc;
    }
    for (int h = 0; h < n_heads; h++) {
      float* v = x + t * ld + static_cast<int64_t>(h) * p.head_dim;
      for (int i = 0; i < half; i++) {
        const float x1 = v[i], x2 = v[i + half];
        v[i] = x1 * c[i] - x2 * s[i];
        v[i + half] = x2 * c[i] + x1 * s[i];
      }
    }
  }
}

// ---- sink attention over a KV cache (GQA, optional sliding window) -----------------------------------------

inline float dot(const float* a, const float* b, int n) {
  F acc = S::zero();
  int k = 0;
  for (; k + W <= n; k += W) acc = S::fma(S::load(a + k), S::load(b + k), acc);
  float s = S::hsum(acc);
  for (; k < n; k++) s += a[k] * b[k];
  return s;
}

inline void axpy(float a, const float* x, float* y, int n) {
  F av = S::set1(a);
  int k = 0;
  for (; k + W <= n; k += W) S::store(y + k, S::fma(av, S::load(x + k), S::load(y + k)));
  for (; k < n; k++) y[k] += a * x[k];
}

// Scores of G query heads (contiguous, D each) against one key row: out[h] = q_h . k. The AVX-512 variant has a
// kernel for gpt-oss's shape (8 heads per KV head, D = 64) that sums the 8 dot products with one transpose tree
// instead of 8 horizontal sums.
template <class SS>
inline void dot_heads(const float* q, int G, int D, const float* k, float* out) {
  if constexpr (SS::kAttention8x64) {
    if (G == 8 && D == 64) return SS::dot8x64(q, k, out);
  }
  for (int h = 0; h < G; h++) out[h] = dot(q + static_cast<int64_t>(h) * D, k, D);
}

// s[j] = exp(s[j] - m) in place, returning the sum; vectorized where the variant has an exp (AVX-512, ~1 ulp).
template <class SS>
inline float exp_shifted_sum(float* s, int64_t n, float m) {
  float z = 0.f;
  int64_t j = 0;
  if constexpr (SS::kAttention8x64) z = SS::exp_shifted(s, n, m, &j);
  for (; j < n; j++) {
    s[j] = std::exp(s[j] - m);
    z += s[j];
  }
  return z;
}

// o[h] = sum_j p[h][j] v[j] for 4 heads (probabilities p [4][n], value rows of NV vectors at stride ldv): each value
// row is loaded once for the 4 heads and the sums stay in registers (no load/store of o per position).
constexpr int64_t kKvAhead = 8;
inline void prefetch_row(const float* p, int n) {
  for (int i = 0; i < n; i += 16) __builtin_prefetch(p + i);
}

template <int NV>
inline void pv4(const float* p, int64_t n, const float* v, int64_t ldv, float* o) {
  F acc[4][NV];
  for (int h = 0; h < 4; h++)
    for (int x = 0; x < NV; x++) acc[h][x] = S::zero();
  for (int64_t j = 0; j < n; j++) {
    if (j + kKvAhead < n) prefetch_row(v + (j + kKvAhead) * ldv, NV * W);
    F vv[NV];
    for (int x = 0; x < NV; x++) vv[x] = S::load(v + j * ldv + x * W);
    for (int h = 0; h < 4; h++) {
      const F ph = S::set1(p[h * n + j]);
      for (int x = 0; x < NV; x++) acc[h][x] = S::fma(ph, vv[x], acc[h][x]);
    }
  }
  for (int h = 0; h < 4; h++)
    for (int x = 0; x < NV; x++) S::store(o + h * NV * W + x * W, acc[h][x]);
}

void attention(const gptoss::AttentionArgs& a) {
  const int D = a.head_dim;
  const int G = a.n_heads / a.n_kv;
  const int64_t kv_ld = static_cast<int64_t>(a.n_kv) * D;
  gptoss::ThreadPool::instance().parallel_for(a.t * a.n_kv, [&](int64_t task, int) {
    const int64_t t = task / a.n_kv;
    const int g = static_cast<int>(task % a.n_kv);
    const int64_t pos = a.positions[t];
    const int64_t start = a.window > 0 ? std::max<int64_t>(0, pos - a.window + 1) : 0;
    const int64_t n = pos - start + 1;
    thread_local std::vector<float> sc;
    if (static_cast<int64_t>(sc.size()) < n * G) sc.resize(n * G);
    const float* qg = a.q + t * a.ldq + static_cast<int64_t>(g * G) * D;
    float dots[64];
    for (int64_t j = 0; j < n; j++) {
      const float* kr = a.k + (start + j) * kv_ld + static_cast<int64_t>(g) * D;
      // One KV head's rows are D floats every kv_ld: a strided stream the hardware prefetchers pick up late when the
      // cache comes from DRAM (decode reads every layer's), so fetch a few rows ahead, keys here, values in pv4.
      if (j + kKvAhead < n) prefetch_row(kr + kKvAhead * kv_ld, D);
      if (G <= 64) {
        dot_heads<S>(qg, G, D, kr, dots);
        for (int hh = 0; hh < G; hh++) sc[hh * n + j] = dots[hh] * a.sm_scale;
      } else {
        for (int hh = 0; hh < G; hh++) sc[hh * n + j] = dot(qg + static_cast<int64_t>(hh) * D, kr, D) * a.sm_scale;
      }
    }
    const float* vg = a.v + start * kv_ld + static_cast<int64_t>(g) * D;
    float* og = a.out + t * a.ldo + static_cast<int64_t>(g * G) * D;
    const bool pv_fast = W == 16 && D == 64 && G % 4 == 0;
    for (int hh = 0; hh < G; hh++) {
      const int h = g * G + hh;
      float* srow = sc.data() + hh * n;
      const float sink = a.sinks.at(h);
      float m = sink;
      for (int64_t j = 0; j < n; j++) m = std::max(m, srow[j]);
      const float inv = 1.f / (std::exp(sink - m) + exp_shifted_sum<S>(srow, n, m));
      float* o = og + static_cast<int64_t>(hh) * D;
      if (pv_fast) {
        for (int64_t j = 0; j < n; j++) srow[j] *= inv;
      } else {
        for (int d = 0; d < D; d++) o[d] = 0.f;
        for (int64_t j = 0; j < n; j++) axpy(srow[j] * inv, vg + j * kv_ld, o, D);
      }
    }
    if (pv_fast)
      for (int hh = 0; hh < G; hh += 4) pv4<64 / W>(sc.data() + hh * n, n, vg, kv_ld, og + static_cast<int64_t>(hh) * D);
  });
}

// ---- MoE: route-grouped MXFP4 experts, fused bias + SwiGLU, weighted sum into the residual -----------------

void moe(const gptoss::MoeArgs& a) {
  const int64_t T = a.t, H = a.hidden, I = a.inter;
  const int E = a.n_experts;
  // Group (token, slot) pairs by expert.
  std::vector<int> count(E, 0);
  for (int64_t i = 0; i < T * a.top_k; i++) count[a.expert_ids[i]]++;
  std::vector<int> offset(E + 1, 0);
  for (int e = 0; e < E; e++) offset[e + 1] = offset[e] + count[e];
  const int64_t M = offset[E];
  std::vector<int32_t> tok(M);
  std::vector<float> gate(M);
  {
    std::vector<int> fill(offset.begin(), offset.end() - 1);
    for (int64_t i = 0; i < T * a.top_k; i++) {
      const int e = a.expert_ids[i];
      tok[fill[e]] = static_cast<int32_t>(i / a.top_k);
      gate[fill[e]] = a.expert_w[i];
      fill[e]++;
    }
  }
  // Gathered, block-deinterleaved inputs [M, H]; expert outputs [M, I] (deinterleaved) and [M, H].
  std::vector<float> xg(M * H), hg(M * I), og(M * H);
  for (int64_t m = 0; m < M; m++) gptoss::deinterleave32(a.x + tok[m] * H, H, xg.data() + m * H);
  std::vector<Job> jobs;
  jobs.reserve(E);
  const int64_t G1 = H / 32, G2 = I / 32;
  for (int e = 0; e < E; e++) {
    if (!count[e]) continue;
    Job jb;
    gptoss::MatmulArgs& m = jb.a;
    m.x = xg.data() + offset[e] * H;
    m.ldx = H;
    m.t = count[e];
    m.w.format = gptoss::kWMXFP4;
    m.w.rows = 2 * I;
    m.w.k = H;
    m.w.data = a.w1_blocks + static_cast<int64_t>(e) * 2 * I * G1 * 16;
    m.w.scales = a.w1_scales + static_cast<int64_t>(e) * 2 * I * G1;
    if (a.b1) {
      m.bias = a.b1;
      m.bias.data += static_cast<int64_t>(e) * 2 * I * (a.b1.dtype == gptoss::kBF16 ? 2 : 4);
    }
    m.out = hg.data() + offset[e] * I;
    m.ldo = I;
    m.epilogue = gptoss::kSwiglu;
    m.swiglu_limit = a.swiglu_limit;
    m.swiglu_alpha = a.swiglu_alpha;
    jb.deint_out = true;
    jobs.push_back(jb);
  }
  {
    gptoss::ProfScope p(gptoss::kOpMlp1);
    run_jobs(jobs.data(), static_cast<int>(jobs.size()));
  }
  int j = 0;
  for (int e = 0; e < E; e++) {
    if (!count[e]) continue;
    gptoss::MatmulArgs& m = jobs[j++].a;
    m.x = hg.data() + offset[e] * I;
    m.ldx = I;
    m.w.rows = H;
    m.w.k = I;
    m.w.data = a.w2_blocks + static_cast<int64_t>(e) * H * G2 * 16;
    m.w.scales = a.w2_scales + static_cast<int64_t>(e) * H * G2;
    m.bias = gptoss::Vec();
    if (a.b2) {
      m.bias = a.b2;
      m.bias.data += static_cast<int64_t>(e) * H * (a.b2.dtype == gptoss::kBF16 ? 2 : 4);
    }
    m.out = og.data() + offset[e] * H;
    m.ldo = H;
    m.epilogue = gptoss::kStore;
  }
  for (auto& jb : jobs) jb.deint_out = false;
  {
    gptoss::ProfScope p(gptoss::kOpMlp2);
    run_jobs(jobs.data(), static_cast<int>(jobs.size()));
  }
  // Sum in routing order per token (slot 0 first) so results do not depend on expert numbering.
  std::vector<int64_t> row_of(T * a.top_k);
  {
    std::vector<int> fill(offset.begin(), offset.end() - 1);
    for (int64_t i = 0; i < T * a.top_k; i++) row_of[i] = fill[a.expert_ids[i]]++;
  }
  for (int64_t t = 0; t < T; t++) {
    float* o = a.out + t * H;
    for (int s = 0; s < a.top_k; s++) {
      const int64_t m = row_of[t * a.top_k + s];
      axpy(gate[m], og.data() + m * H, o, static_cast<int>(H));
    }
  }
}

// ---- unembedding fused with top-k selection --------------------------------------------------------------

struct Cand {
  float v;
  int32_t id;
};
inline bool better(const Cand& a, const Cand& b) { return a.v > b.v || (a.v == b.v && a.id < b.id); }

inline void insert_topk(Cand* list, int k, int& n, Cand c) {
  if (n == k && !better(c, list[k - 1])) return;
  int i = n < k ? n++ : k - 1;
  while (i > 0 && better(c, list[i - 1])) {
    list[i] = list[i - 1];
    i--;
  }
  list[i] = c;
}

void unembed_topk(const gptoss::TopkArgs& a) {
  const int64_t T = a.t, V = a.w.rows;
  const int threads = gptoss::ThreadPool::instance().size();
  const int k = a.k > 0 ? a.k : 1;
  const bool want_top = a.top_ids || a.top_vals;
  std::vector<Cand> lists(want_top ? static_cast<size_t>(threads) * T * k : 0);
  std::vector<int> lens(want_top ? static_cast<size_t>(threads) * T : 0, 0);
  const int64_t chunk = T > kDirectMaxT ? kPanelRows * 2 : 256;
  std::vector<uint16_t> xsplit;
  if (T <= kDirectMaxT && S::bf16dot_enabled()) {
    xsplit.resize(2 * T * a.w.k);
    split_activations(a.w.format, a.x, a.w.k, T, a.w.k, xsplit.data());
  }
  const int64_t n_tasks = (V + chunk - 1) / chunk;
  gptoss::ThreadPool::instance().parallel_for(n_tasks, [&](int64_t task, int th) {
    const int64_t r0 = task * chunk, r1 = std::min(V, r0 + chunk), n = r1 - r0;
    thread_local std::vector<float> res;
    if (static_cast<int64_t>(res.size()) < T * n) res.resize(T * n);
    rows_times_tokens(a.w, a.x, a.w.k, T, r0, r1, res.data(), xsplit.empty() ? nullptr : xsplit.data());
    for (int64_t t = 0; t < T; t++) {
      const float* lr = res.data() + t * n;
      if (a.logits) std::memcpy(a.logits + t * V + r0, lr, n * 4);
      if (want_top) {
        Cand* list = lists.data() + (static_cast<size_t>(th) * T + t) * k;
        int& len = lens[th * T + t];
        for (int64_t i = 0; i < n; i++) insert_topk(list, k, len, Cand{lr[i], static_cast<int32_t>(r0 + i)});
      }
    }
  });
  if (!want_top) return;
  for (int64_t t = 0; t < T; t++) {
    std::vector<Cand> merged(k);
    int len = 0;
    for (int th = 0; th < threads; th++) {
      const Cand* list = lists.data() + (static_cast<size_t>(th) * T + t) * k;
      for (int i = 0; i < lens[th * T + t]; i++) insert_topk(merged.data(), k, len, list[i]);
    }
    for (int i = 0; i < k; i++) {
      if (a.top_ids) a.top_ids[t * k + i] = i < len ? merged[i].id : -1;
      if (a.top_vals) a.top_vals[t * k + i] = i < len ? merged[i].v : -INFINITY;
    }
  }
}

}  // namespace
