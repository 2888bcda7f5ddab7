// Prefill GEMM of MXFP4 weights on AVX-512 VNNI with integer dot products, fp32-accurate:
//   - FP4 (e2m1) values times two are the integers {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}, exact in int16;
//   - activations are quantized per token per 32-value block to int16 with their own fp32 scale
//     (max-abs / kQMax, round to nearest): at most 1/65278 of the block's largest value per element;
//   - vpdpwssd does 32 multiply-adds per instruction, twice the fp32 FMA rate.
// A block's 32 products sum to at most 32 * 12 * 32639 < 2^24, so the int32 sum is exact and so is its conversion
// to fp32; each block then costs one fp32 multiply-add with (row scale x token scale), the only roundings besides
// the activation quantization.
//
// Panel layout (built once per 16 rows, reused for every token): per block g and pair j (0..15) one zmm whose 16
// int32 lanes are 16 rows, each holding the pair (w[2j], w[2j+1]) as int16 — exactly what one MXFP4 byte encodes.
// An activation pair is broadcast to all lanes, so one instruction serves 16 rows of one token.
// Included inside namespace gptoss::isa_avx512 by isa-avx512.cc.

namespace i16 {

// Largest |q|: 0x7F7F rather than 32767, so that q splits into two int8 halves for the decode GEMV
// (i16-gemv-avx512.h), which then quantizes a token exactly as this GEMM does: batched and single-sequence
// decode agree however the tokens are grouped.
constexpr int kQMax = 32639;

// Activations of T tokens: q [T][G][16] int32 pairs (x[2j] low half, x[2j+1] high half, natural order), d [T][G].
struct Acts {
  const int32_t* q = nullptr;
  const float* d = nullptr;
  int64_t groups = 0;
};

// One 32-value block from block-deinterleaved x (evens then odds, as the MXFP4 matmul receives it).
inline void quantize_block(const float* xb, int32_t* q, float* d) {
  const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  // Inf or NaN anywhere makes the block's scale NaN, so the outputs turn NaN as the fp32 path's would.
  const float bad = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_mul_ps(v0, _mm512_setzero_ps()),
                                                       _mm512_mul_ps(v1, _mm512_setzero_ps())));
  if (bad != 0.f || amax == 0.f) {
    _mm512_storeu_si512(q, _mm512_setzero_si512());
    *d = bad != 0.f ? NAN : 0.f;
    return;
  }
  // Divide rather than multiply by kQMax / amax: that reciprocal overflows for subnormal amax.
  const float scale = amax / static_cast<float>(kQMax);
  const __m512 sv = _mm512_set1_ps(scale);
  __m512i q0 = _mm512_cvtps_epi32(_mm512_div_ps(v0, sv));
  __m512i q1 = _mm512_cvtps_epi32(_mm512_div_ps(v1, sv));
  // amax / scale can round just above kQMax only in theory; clamp so the int16 never wraps.
  const __m512i hi = _mm512_set1_epi32(kQMax), lo = _mm512_set1_epi32(-kQMax);
  q0 = _mm512_max_epi32(_mm512_min_epi32(q0, hi), lo);
  q1 = _mm512_max_epi32(_mm512_min_epi32(q1, hi), lo);
  _mm512_storeu_si512(q, _mm512_mask_blend_epi16(0xAAAAAAAAu, q0, _mm512_slli_epi32(q1, 16)));
  *d = scale;
}

// Byte-permute tables (vpermb / vpermt2b indices), built once. A 16 x 16 byte matrix is held in 4 zmm, Z[q] =
// rows 4q..4q+3 (16 bytes each); transpose16() turns it into O[p] = columns 4p..4p+3 (16 rows each).
struct Tables {
  alignas(64) uint8_t a[64], b[64], c[64], d[64];  // transpose stages (see transpose16)
  alignas(64) uint8_t pair[4][64];                   // column m of O[p]: lo nibble -> byte 4r, hi nibble -> byte 4r + 2
  alignas(64) uint8_t dword[4][64];                  // column m of O[p]: byte r -> byte 4r (zero-extended to int32)
  alignas(64) int16_t lut[32];                       // FP4 times two, repeated (vpermw reads 5 index bits)
  Tables() {
    for (int j = 0; j < 8; j++)
      for (int r = 0; r < 8; r++) {
        a[j * 8 + r] = static_cast<uint8_t>((r / 4) * 64 + (r % 4) * 16 + j);
        b[j * 8 + r] = static_cast<uint8_t>((r / 4) * 64 + (r % 4) * 16 + j + 8);
      }
    for (int m = 0; m < 4; m++)
      for (int r = 0; r < 16; r++) {
        c[m * 16 + r] = static_cast<uint8_t>(r < 8 ? m * 8 + r : 64 + m * 8 + r - 8);
        d[m * 16 + r] = static_cast<uint8_t>(r < 8 ? (4 + m) * 8 + r : 64 + (4 + m) * 8 + r - 8);
        for (int k = 0; k < 4; k++) {
          pair[m][4 * r + k] = static_cast<uint8_t>((k >= 2 ? 64 : 0) + m * 16 + r);
          dword[m][4 * r + k] = static_cast<uint8_t>(m * 16 + r);
        }
      }
    static const int16_t fp4x2[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
    for (int i = 0; i < 32; i++) lut[i] = fp4x2[i & 15];
  }
};
inline const Tables& tables() {
  static const Tables t;
  return t;
}

// 16 rows of 16 bytes (row i at p + i * stride, only the first `bytes` of each, rows >= nr are zero) -> Z[4].
inline void load16x16(const uint8_t* p, int64_t stride, int nr, int bytes, __m512i z[4]) {
  const __mmask16 m = bytes >= 16 ? __mmask16(0xffff) : __mmask16((1u << bytes) - 1);
  alignas(64) __m128i rows[16];
  for (int i = 0; i < 16; i++)
    rows[i] = i < nr ? _mm_maskz_loadu_epi8(m, p + i * stride) : _mm_setzero_si128();
  for (int q = 0; q < 4; q++) {
    __m512i v = _mm512_castsi128_si512(rows[4 * q]);
    v = _mm512_inserti32x4(v, rows[4 * q + 1], 1);
    v = _mm512_inserti32x4(v, rows[4 * q + 2], 2);
    z[q] = _mm512_inserti32x4(v, rows[4 * q + 3], 3);
  }
}

// Z[q] byte (16 a + j) = M[4q + a][j]  ->  O[p] byte (16 m + r) = M[r][4p + m]: 8 two-source byte permutes.
inline void transpose16(const Tables& tb, const __m512i z[4], __m512i o[4]) {
  const __m512i ia = _mm512_load_si512(tb.a), ib = _mm512_load_si512(tb.b);
  const __m512i ic = _mm512_load_si512(tb.c), id = _mm512_load_si512(tb.d);
  // t0/t1: rows 0..7, columns 0..7 / 8..15, byte 8 j + r; t2/t3 the same for rows 8..15.
  const __m512i t0 = _mm512_permutex2var_epi8(z[0], ia, z[1]), t1 = _mm512_permutex2var_epi8(z[0], ib, z[1]);
  const __m512i t2 = _mm512_permutex2var_epi8(z[2], ia, z[3]), t3 = _mm512_permutex2var_epi8(z[2], ib, z[3]);
  o[0] = _mm512_permutex2var_epi8(t0, ic, t2);
  o[1] = _mm512_permutex2var_epi8(t0, id, t2);
  o[2] = _mm512_permutex2var_epi8(t1, ic, t3);
  o[3] = _mm512_permutex2var_epi8(t1, id, t3);
}

// E8M0 scales of 16 rows (nr real, rows >= nr give lanes of 2^-128, unused) -> ps [G][16 lanes] fp32, kScaleHalf[s]
// (scale / 2, folding the doubled FP4 values back), 16 blocks at a time, built in the exponent field: 2^(s - 128);
// s = 0 and 1 are subnormal, 255 is NaN.
inline void panel_scales(const uint8_t* s0, int nr, int64_t G, float* ps) {
  const Tables& tb = tables();
  const __m512i one = _mm512_set1_epi32(1);
  for (int64_t g0 = 0; g0 < G; g0 += 16) {
    const int nb = static_cast<int>(std::min<int64_t>(16, G - g0));
    __m512i z[4], o[4];
    load16x16(s0 + g0, G, nr, nb, z);
    transpose16(tb, z, o);
    for (int k = 0; k < nb; k++) {
      const __m512i e = _mm512_maskz_permutexvar_epi8(0x1111111111111111ull, _mm512_load_si512(tb.dword[k & 3]), o[k >> 2]);
      __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_sub_epi32(e, one), 23));
      f = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(e, _mm512_setzero_si512()), f, _mm512_set1_ps(gptoss::kScaleHalf[0]));
      f = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(e, one), f, _mm512_set1_ps(gptoss::kScaleHalf[1]));
      f = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(255)), f, _mm512_set1_ps(NAN));
      _mm512_store_ps(ps + (g0 + k) * 16, f);
    }
  }
}

// rows [n] of MXFP4 -> panel. pw [V][G][16 pairs][16 lanes] int32, ps [V][G][16 lanes] fp32 (scale / 2, folding the
// doubled FP4 values back), V = ceil(n / 16); lanes past n hold zero weights.
inline void build_panel(const uint8_t* blocks, const uint8_t* scales, int64_t n, int64_t G, int32_t* pw, float* ps) {
  const Tables& tb = tables();
  const __m512i lut = _mm512_load_si512(tb.lut);
  const int64_t V = (n + 15) / 16;
  for (int64_t v = 0; v < V; v++) {
    const int nr = static_cast<int>(std::min<int64_t>(16, n - v * 16));
    const uint8_t* b0 = blocks + v * 16 * G * 16;
    for (int64_t g = 0; g < G; g++) {
      // 16 row streams: the hardware prefetchers miss some when the weights come from DRAM.
      if ((g & 3) == 0)
        for (int i = 0; i < nr; i++) _mm_prefetch(reinterpret_cast<const char*>(b0 + (i * G + g + 8) * 16), _MM_HINT_T0);
      __m512i z[4], o[4];
      load16x16(b0 + g * 16, G * 16, nr, 16, z);
      transpose16(tb, z, o);
      // Lane r of pair j: the byte's low nibble indexes the low int16, its high nibble the high one. vpermw reads 5
      // index bits and the table repeats, so the bits above each nibble need no mask.
      int32_t* out = pw + (v * G + g) * 256;
      for (int p = 0; p < 4; p++) {
        const __m512i lo = o[p], hi = _mm512_srli_epi16(o[p], 4);
        for (int m = 0; m < 4; m++) {
          const __m512i idx = _mm512_permutex2var_epi8(lo, _mm512_load_si512(tb.pair[m]), hi);
          _mm512_store_si512(out + (4 * p + m) * 16, _mm512_permutexvar_epi16(idx, lut));
        }
      }
    }
    panel_scales(scales + v * 16 * G, nr, G, ps + v * G * 16);
  }
}

// One block's integer sums into the fp32 accumulators (shared with the int8 GEMM). Activation scale first, then the
// weight scale: their product would be subnormal, and lose bits, for the smallest E8M0 scales.
template <int NRV, int NT>
[[gnu::always_inline]] inline void add_block(__m512 (&facc)[NRV][NT], const __m512i (&iacc)[NRV][NT], const float* ps,
                                             int64_t G, int64_t g, const float* const (&dp)[NT]) {
  for (int v = 0; v < NRV; v++) {
    const __m512 sv = _mm512_load_ps(ps + (v * G + g) * 16);
    for (int t = 0; t < NT; t++)
      facc[v][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(iacc[v][t]), _mm512_set1_ps(*dp[t])), sv, facc[v][t]);
  }
}

// res[t * ldr + 16 v + lane] = facc[v][t] for the first `rows` rows of the tile.
template <int NRV, int NT>
[[gnu::always_inline]] inline void store_tile(const __m512 (&facc)[NRV][NT], float* res, int ldr, int rows) {
  for (int v = 0; v < NRV; v++) {
    const int left = rows - 16 * v;
    if (left <= 0) break;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(res + t * ldr + 16 * v, m, facc[v][t]);
  }
}

// NRV row vectors (16 rows each) x NT tokens over all G blocks; res[t * ldr + lane] for the first `rows` lanes.
template <int NRV, int NT>
inline void tile(const int32_t* pw, const float* ps, int64_t G, const int32_t* xq, const float* xd, int64_t xstride,
                 float* res, int ldr, int rows) {
  __m512 facc[NRV][NT];
  for (int v = 0; v < NRV; v++)
    for (int t = 0; t < NT; t++) facc[v][t] = _mm512_setzero_ps();
  // One pointer per token, stepped per block: the broadcasts then address base + constant.
  const int32_t* xp[NT];
  const float* dp[NT];
  for (int t = 0; t < NT; t++) {
    xp[t] = xq + t * xstride;
    dp[t] = xd + t * G;
  }
  for (int64_t g = 0; g < G; g++) {
    __m512i iacc[NRV][NT];
    for (int v = 0; v < NRV; v++)
      for (int t = 0; t < NT; t++) iacc[v][t] = _mm512_setzero_si512();
    const int32_t* w = pw + g * 256;
    // Fully unrolled: otherwise GCC shuffles the accumulators between registers every iteration.
#pragma GCC unroll 16
    for (int j = 0; j < 16; j++) {
      __m512i wv[NRV];
      for (int v = 0; v < NRV; v++) wv[v] = _mm512_load_si512(w + v * G * 256 + j * 16);
      for (int t = 0; t < NT; t++) {
        const __m512i xb = _mm512_set1_epi32(xp[t][j]);
        for (int v = 0; v < NRV; v++) iacc[v][t] = _mm512_dpwssd_epi32(iacc[v][t], wv[v], xb);
      }
    }
    add_block<NRV, NT>(facc, iacc, ps, G, g, dp);
    for (int t = 0; t < NT; t++) {
      xp[t] += 16;
      dp[t] += 1;
    }
  }
  store_tile<NRV, NT>(facc, res, ldr, rows);
}

constexpr int kNT = 6;  // tokens per register tile: 2 x 6 int32 + 2 x 6 fp32 accumulators + 2 weight vectors

template <int NRV>
inline void tile_nt(int nt, const int32_t* pw, const float* ps, int64_t G, const int32_t* xq, const float* xd,
                    float* res, int ldr, int rows) {
  const int64_t xs = G * 16;
  switch (nt) {
    case 1: tile<NRV, 1>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
    case 2: tile<NRV, 2>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
    case 3: tile<NRV, 3>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
    case 4: tile<NRV, 4>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
    case 5: tile<NRV, 5>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
    default: tile<NRV, 6>(pw, ps, G, xq, xd, xs, res, ldr, rows); break;
  }
}

// Runs tile(v, t, nt, rows) over a built panel of n rows: pairs of 16-row vectors v (rows <= 32 of them) x tiles of
// nt <= kNT tokens from t. `next` / `next_bytes`: the weights the caller expects to process next (or null); they are
// prefetched a slice per tile, so that the next panel's DRAM reads overlap this one's arithmetic.
template <class Tile>
inline void over_tiles(int64_t n, int64_t T, const uint8_t* next, int64_t next_bytes, Tile&& tile) {
  const int64_t V = (n + 15) / 16;
  const int64_t calls = ((V + 1) / 2) * ((T + kNT - 1) / kNT);
  const int64_t slice = next ? ((next_bytes + calls - 1) / calls + 63) & ~int64_t(63) : 0;
  int64_t pf = 0;
  for (int64_t v = 0; v < V; v += 2) {
    const int rows = static_cast<int>(std::min<int64_t>(32, n - 16 * v));
    for (int64_t t = 0; t < T; t += kNT) {
      for (const int64_t end = std::min(next_bytes, pf + slice); pf < end; pf += 64)
        _mm_prefetch(reinterpret_cast<const char*>(next + pf), _MM_HINT_T0);
      tile(v, t, static_cast<int>(std::min<int64_t>(kNT, T - t)), rows);
    }
  }
}

// Per-thread panel storage: kInts int32 weights and 16 fp32 scales per (16-row vector, block).
template <int kInts>
struct Scratch {
  int32_t* pw = nullptr;
  float* ps = nullptr;
  size_t cap = 0;
  ~Scratch() {
    std::free(pw);
    std::free(ps);
  }
  void reserve(int64_t V, int64_t G) {
    const size_t need = static_cast<size_t>(V * G);
    if (need <= cap) return;
    std::free(pw);
    std::free(ps);
    // 64-byte aligned: the kernels use aligned loads.
    pw = static_cast<int32_t*>(std::aligned_alloc(64, need * kInts * sizeof(int32_t)));
    ps = static_cast<float*>(std::aligned_alloc(64, need * 16 * sizeof(float)));
    cap = need;
  }
};

// Raw dot products of MXFP4 rows [n] (blocks/scales of the first row) with T quantized tokens, res[t * ldr + r].
// `next` / `next_bytes`: the weights the caller expects to process next (or null); they are prefetched a slice per
// register tile, so that the next panel's DRAM reads overlap this one's arithmetic.
inline void gemm(int64_t n, int64_t T, const uint8_t* blocks, const uint8_t* scales, int64_t G, const Acts& x,
                 float* res, int ldr, const uint8_t* next = nullptr, int64_t next_bytes = 0) {
  thread_local Scratch<256> s;
  const int64_t V = (n + 15) / 16;
  s.reserve(V, G);
  build_panel(blocks, scales, n, G, s.pw, s.ps);
  over_tiles(n, T, next, next_bytes, [&](int64_t v, int64_t t, int nt, int rows) {
    const int32_t* xq = x.q + t * G * 16;
    const float* xd = x.d + t * G;
    float* r = res + t * ldr + 16 * v;
    if (rows > 16)
      tile_nt<2>(nt, s.pw + v * G * 256, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
    else
      tile_nt<1>(nt, s.pw + v * G * 256, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
  });
}

}  // namespace i16
