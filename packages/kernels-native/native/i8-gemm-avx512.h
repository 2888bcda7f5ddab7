// Opt-in prefill GEMM of MXFP4 weights on AVX-512 VNNI with int8 activations (GPTOSS_CPU_PREFILL=int8 /
// setPrefillPrecision('int8'); the default stays the int16 GEMM of i16-gemm-avx512.h):
//   - FP4 (e2m1) values times two are the integers {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}, exact in int8;
//   - activations are quantized per token per 32-value block to int8, symmetric, scale max|x| / 127, round to
//     nearest (as llama.cpp's q8 does): at most 1/254 of the block's largest value per element;
//   - vpdpbusd multiplies unsigned by signed bytes, 64 products per instruction (twice vpdpwssd's): the activations
//     are stored offset by +128 (u8), the weights signed, and each block's int32 accumulator starts at
//     -128 * Σw (per row, precomputed in the panel), which removes the offset exactly.
// A block's 32 products sum to at most 32 * 255 * 12 < 2^17, so the int32 sum is exact and so is its conversion to
// fp32; each block then costs one fp32 multiply (activation scale) and one multiply-add (weight scale), in the
// int16 GEMM's order, so the E8M0 edges (bytes 0, 1, 2: subnormal products; 255: NaN) behave as there.
//
// Panel layout (built once per 16 rows, reused for every token): per block g 9 zmm of 16 int32 lanes (16 rows):
// first -128 Σw, then quad j (0..7) = the 4 signed bytes (lo, hi nibble of byte 2j; lo, hi nibble of byte 2j + 1).
// The activation quad j of a token is (x[2j], x[16 + 2j], x[2j + 1], x[17 + 2j]) of its block-deinterleaved block
// (evens then odds), + 128, broadcast to all lanes: one instruction serves 16 rows of one token.
// Included inside namespace gptoss::isa_avx512 by isa-avx512.cc, after i16-gemm-avx512.h (it reuses its tables).

namespace i8 {

constexpr int kQMax = 127;

// Activations of T tokens: q [T][G][8] int32 (4 offset bytes each), d [T][G].
struct Acts {
  const int32_t* q = nullptr;
  const float* d = nullptr;
};

// One 32-value block from block-deinterleaved x (evens then odds) -> 8 quads of u8 (q + 128), scale d (x ~= d q).
inline void quantize_block(const float* xb, int32_t* q, float* d) {
  const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  // Inf or NaN anywhere makes the block's scale NaN, so the outputs turn NaN as the fp32 path's would.
  const float bad = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_mul_ps(v0, _mm512_setzero_ps()),
                                                       _mm512_mul_ps(v1, _mm512_setzero_ps())));
  if (bad != 0.f || amax == 0.f) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), _mm256_set1_epi8(static_cast<char>(0x80)));
    *d = bad != 0.f ? NAN : 0.f;
    return;
  }
  // Divide rather than multiply by kQMax / amax: that reciprocal overflows for subnormal amax.
  const float scale = amax / static_cast<float>(kQMax);
  const __m512 sv = _mm512_set1_ps(scale);
  const __m512i hi = _mm512_set1_epi32(kQMax), lo = _mm512_set1_epi32(-kQMax), off = _mm512_set1_epi32(128);
  const __m512i q0 = _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_div_ps(v0, sv)), hi), lo), off);
  const __m512i q1 = _mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_div_ps(v1, sv)), hi), lo), off);
  const __m128i a = _mm512_cvtepi32_epi8(q0), b = _mm512_cvtepi32_epi8(q1);  // a[k] = x[k], b[k] = x[16 + k]
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm_unpacklo_epi8(a, b));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q) + 1, _mm_unpackhi_epi8(a, b));
  *d = scale;
}

constexpr int kBlockVecs = 9;  // per (row vector, block): Σ correction + 8 quads

// rows [n] of MXFP4 -> panel. pw [V][G][9][16] int32, ps [V][G][16] fp32 (scale / 2), V = ceil(n / 16); lanes past
// n hold zero weights.
inline void build_panel(const uint8_t* blocks, const uint8_t* scales, int64_t n, int64_t G, int32_t* pw, float* ps) {
  const i16::Tables& tb = i16::tables();
  const __m512i lut = _mm512_load_si512(tb.lut);
  // Two pair vectors (int16, int16 per lane) -> one quad vector (4 bytes per lane: the int16s' low bytes).
  static const struct QuadIdx {
    uint8_t v[64];
    QuadIdx() {
      for (int r = 0; r < 16; r++) {
        v[4 * r] = static_cast<uint8_t>(4 * r);
        v[4 * r + 1] = static_cast<uint8_t>(4 * r + 2);
        v[4 * r + 2] = static_cast<uint8_t>(64 + 4 * r);
        v[4 * r + 3] = static_cast<uint8_t>(64 + 4 * r + 2);
      }
    }
  } qidx;
  const __m512i quad = _mm512_loadu_si512(qidx.v);
  const __m512i ones = _mm512_set1_epi8(1);
  const int64_t V = (n + 15) / 16;
  for (int64_t v = 0; v < V; v++) {
    const int nr = static_cast<int>(std::min<int64_t>(16, n - v * 16));
    const uint8_t* b0 = blocks + v * 16 * G * 16;
    for (int64_t g = 0; g < G; g++) {
      if ((g & 3) == 0)
        for (int i = 0; i < nr; i++) _mm_prefetch(reinterpret_cast<const char*>(b0 + (i * G + g + 8) * 16), _MM_HINT_T0);
      __m512i z[4], o[4];
      i16::load16x16(b0 + g * 16, G * 16, nr, 16, z);
      i16::transpose16(tb, z, o);
      int32_t* out = pw + (v * G + g) * kBlockVecs * 16;
      __m512i sum = _mm512_setzero_si512();
      for (int p = 0; p < 4; p++) {
        const __m512i lo = o[p], hi = _mm512_srli_epi16(o[p], 4);
        __m512i pr[4];
        for (int m = 0; m < 4; m++) {
          const __m512i idx = _mm512_permutex2var_epi8(lo, _mm512_load_si512(tb.pair[m]), hi);
          pr[m] = _mm512_permutexvar_epi16(idx, lut);
        }
        for (int h = 0; h < 2; h++) {
          const __m512i qv = _mm512_permutex2var_epi8(pr[2 * h], quad, pr[2 * h + 1]);
          sum = _mm512_dpbusd_epi32(sum, ones, qv);
          _mm512_store_si512(out + (1 + 2 * p + h) * 16, qv);
        }
      }
      _mm512_store_si512(out, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
    }
    i16::panel_scales(scales + v * 16 * G, nr, G, ps + v * G * 16);
  }
}

// NRV row vectors (16 rows each) x NT tokens over all G blocks; res[t * ldr + lane] for the first `rows` lanes.
template <int NRV, int NT>
inline void tile(const int32_t* pw, const float* ps, int64_t G, const int32_t* xq, const float* xd, float* res, int ldr,
                 int rows) {
  __m512 facc[NRV][NT];
  for (int v = 0; v < NRV; v++)
    for (int t = 0; t < NT; t++) facc[v][t] = _mm512_setzero_ps();
  const int32_t* xp[NT];
  const float* dp[NT];
  for (int t = 0; t < NT; t++) {
    xp[t] = xq + t * G * 8;
    dp[t] = xd + t * G;
  }
  const int64_t vstride = G * kBlockVecs * 16;
  for (int64_t g = 0; g < G; g++) {
    const int32_t* w = pw + g * kBlockVecs * 16;
    __m512i iacc[NRV][NT];
    for (int v = 0; v < NRV; v++) {
      const __m512i c = _mm512_load_si512(w + v * vstride);
      for (int t = 0; t < NT; t++) iacc[v][t] = c;
    }
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) {
      __m512i wv[NRV];
      for (int v = 0; v < NRV; v++) wv[v] = _mm512_load_si512(w + v * vstride + (1 + j) * 16);
      for (int t = 0; t < NT; t++) {
        const __m512i xb = _mm512_set1_epi32(xp[t][j]);
        for (int v = 0; v < NRV; v++) iacc[v][t] = _mm512_dpbusd_epi32(iacc[v][t], xb, wv[v]);
      }
    }
    i16::add_block<NRV, NT>(facc, iacc, ps, G, g, dp);
    for (int t = 0; t < NT; t++) {
      xp[t] += 8;
      dp[t] += 1;
    }
  }
  i16::store_tile<NRV, NT>(facc, res, ldr, rows);
}

using i16::kNT;  // 6 tokens per register tile: 2 x 6 int32 + 2 x 6 fp32 accumulators + 2 weight vectors

template <int NRV>
inline void tile_nt(int nt, const int32_t* pw, const float* ps, int64_t G, const int32_t* xq, const float* xd,
                    float* res, int ldr, int rows) {
  switch (nt) {
    case 1: tile<NRV, 1>(pw, ps, G, xq, xd, res, ldr, rows); break;
    case 2: tile<NRV, 2>(pw, ps, G, xq, xd, res, ldr, rows); break;
    case 3: tile<NRV, 3>(pw, ps, G, xq, xd, res, ldr, rows); break;
    case 4: tile<NRV, 4>(pw, ps, G, xq, xd, res, ldr, rows); break;
    case 5: tile<NRV, 5>(pw, ps, G, xq, xd, res, ldr, rows); break;
    default: tile<NRV, 6>(pw, ps, G, xq, xd, res, ldr, rows); break;
  }
}


// Raw dot products of MXFP4 rows [n] with T quantized tokens, res[t * ldr + r]; `next` as in i16::gemm.
inline void gemm(int64_t n, int64_t T, const uint8_t* blocks, const uint8_t* scales, int64_t G, const Acts& x,
                 float* res, int ldr, const uint8_t* next = nullptr, int64_t next_bytes = 0) {
  thread_local i16::Scratch<kBlockVecs * 16> s;
  const int64_t V = (n + 15) / 16;
  s.reserve(V, G);
  build_panel(blocks, scales, n, G, s.pw, s.ps);
  i16::over_tiles(n, T, next, next_bytes, [&](int64_t v, int64_t t, int nt, int rows) {
    const int32_t* xq = x.q + t * G * 8;
    const float* xd = x.d + t * G;
    float* r = res + t * ldr + 16 * v;
    if (rows > 16)
      tile_nt<2>(nt, s.pw + v * G * kBlockVecs * 16, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
    else
      tile_nt<1>(nt, s.pw + v * G * kBlockVecs * 16, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
  });
}

}  // namespace i8
