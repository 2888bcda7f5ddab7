// Decode GEMV of MXFP4 weights on AVX-512 VNNI with integer dot products, fp32-class accuracy (the default for
// the expert GEMVs of decode, <= 4 tokens per expert):
//   - FP4 (e2m1) values times two are the integers {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}; plus 12 they are unsigned
//     bytes (0..24), which is what vpdpbusd multiplies (u8 x s8, 64 products per instruction);
//   - activations are quantized per 32-value block to int16 with an fp32 scale, as the int16 prefill GEMM does
//     (|q| <= 32639, the same integers, so that the split below stays in int8), and split exactly into two signed bytes,
//     q = 256 h + l (l = the low byte read as signed, h = (q - l) / 256);
//   - per 64 bytes of weights (4 blocks, one per 128-bit lane, as vpshufb works): 2 vpshufb, 4 vpdpbusd
//     (h and l against the low and high nibbles), 256 * acc_h + acc_l, and one fp32 FMA with the 4 blocks'
//     (E8M0 scale x activation scale). The +12 bias is removed exactly in int32: acc_l starts at -12 * sum(q).
// Relative error per GEMV ~1e-5 (the activation rounding, at most 1/65278 of a block's largest value per element)
// against ~5e-3 for the opt-in int8 path, for about 1.4x the int8 path's instructions and half the fp32 path's.
// Included inside namespace gptoss::isa_avx512 by isa-avx512.cc.

namespace i16v {

// i16::kQMax (0x7F7F) is the largest q whose high byte h = (q - (int8)q) / 256 is still <= 127; using the prefill
// GEMM's quantizer bound means a token's integers are the same on both paths.
using i16::kQMax;

// Activations of one token: per group of 4 blocks, hl [256] bytes (h: block i's even values at 16 i, odd values at
// 64 + 16 i; l the same at 128 + ...), d [4] (x ~= 2 d q: the 1/2 of the doubled FP4 values is folded in),
// c [16] int32 (-12 * sum(q) in lane 4 i, zero elsewhere). Blocks past G are all zero.
struct Acts {
  const int8_t* hl = nullptr;
  const float* d = nullptr;
  const int32_t* c = nullptr;
};

// Groups of 4 blocks per token for G blocks.
inline int64_t groups(int64_t G) { return (G + 3) / 4; }

// One 32-value block from block-deinterleaved x (evens then odds). Outputs are pre-zeroed by the caller.
inline void quantize_block(const float* xb, int8_t* h, int8_t* l, float* d, int32_t* c) {
  const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
  // Inf or NaN anywhere makes the block's scale NaN, so the outputs turn NaN as the fp32 path's would.
  const float bad = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_mul_ps(v0, _mm512_setzero_ps()),
                                                       _mm512_mul_ps(v1, _mm512_setzero_ps())));
  if (bad != 0.f) {
    *d = NAN;
    return;
  }
  if (amax == 0.f) return;
  // Divide rather than multiply by kQMax / amax: that reciprocal overflows for subnormal amax.
  const float scale = amax / static_cast<float>(kQMax);
  const __m512 sv = _mm512_set1_ps(scale);
  const __m512i hi = _mm512_set1_epi32(kQMax), lo = _mm512_set1_epi32(-kQMax);
  const __m512i q0 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_div_ps(v0, sv)), hi), lo);
  const __m512i q1 = _mm512_max_epi32(_mm512_min_epi32(_mm512_cvtps_epi32(_mm512_div_ps(v1, sv)), hi), lo);
  const __m512i l0 = _mm512_srai_epi32(_mm512_slli_epi32(q0, 24), 24), l1 = _mm512_srai_epi32(_mm512_slli_epi32(q1, 24), 24);
  const __m512i h0 = _mm512_srai_epi32(_mm512_sub_epi32(q0, l0), 8), h1 = _mm512_srai_epi32(_mm512_sub_epi32(q1, l1), 8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h), _mm512_cvtepi32_epi8(h0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 64), _mm512_cvtepi32_epi8(h1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(l), _mm512_cvtepi32_epi8(l0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(l + 64), _mm512_cvtepi32_epi8(l1));
  *d = scale * 0.5f;
  *c = -12 * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
}

// One token's K = 32 G block-deinterleaved activations into hl [groups * 256], d [groups * 4], c [groups * 16].
inline void quantize(const float* x, int64_t G, int8_t* hl, float* d, int32_t* c) {
  const int64_t Q = groups(G);
  std::memset(hl, 0, static_cast<size_t>(Q) * 256);
  std::memset(d, 0, static_cast<size_t>(Q) * 4 * sizeof(float));
  std::memset(c, 0, static_cast<size_t>(Q) * 16 * sizeof(int32_t));
  for (int64_t g = 0; g < G; g++) {
    int8_t* h = hl + (g / 4) * 256 + (g % 4) * 16;
    quantize_block(x + g * 32, h, h + 128, d + g, c + 4 * g);
  }
}

// Four E8M0 bytes (one group, little-endian in e4) -> per lane 2^(e - 127) (lanes 4i..4i+3: block i), built in
// the exponent field; exact for 1 <= e <= 254. kEdge also patches e = 0 (2^-127, subnormal) and e = 255 (NaN).
template <bool kEdge>
inline __m512 scales4(int32_t e4) {
  const __m512i spread = _mm512_set_epi32(3 | 0x80808000, 3 | 0x80808000, 3 | 0x80808000, 3 | 0x80808000,
                                          2 | 0x80808000, 2 | 0x80808000, 2 | 0x80808000, 2 | 0x80808000,
                                          1 | 0x80808000, 1 | 0x80808000, 1 | 0x80808000, 1 | 0x80808000,
                                          0x80808000, 0x80808000, 0x80808000, 0x80808000);
  const __m512i e = _mm512_shuffle_epi8(_mm512_set1_epi32(e4), spread);
  __m512 ws = _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
  if (kEdge) {
    ws = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(e, _mm512_setzero_si512()), ws, _mm512_set1_ps(0x1p-127f));
    ws = _mm512_mask_blend_ps(_mm512_cmpeq_epi32_mask(e, _mm512_set1_epi32(255)), ws, _mm512_set1_ps(NAN));
  }
  return ws;
}

// The fast path multiplies weight and activation scales first (one multiply per 16 blocks instead of one per 4);
// that is exact as long as the product is a normal float: E8M0 bytes in [64, 190] (2^-63 .. 2^63) and activation
// scales 0 or in [2^-60, 2^60]. Anything else (the format's edges, subnormal or huge activations, NaN) takes the
// careful path, which scales by d and then by ws and patches e = 0 and 255.
inline bool fast_scales(const uint8_t* s, int64_t n) {
  const __m512i lo = _mm512_set1_epi8(64), hi = _mm512_set1_epi8(static_cast<char>(190));
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(s + i);
    if (_mm512_cmplt_epu8_mask(v, lo) | _mm512_cmpgt_epu8_mask(v, hi)) return false;
  }
  for (; i < n; i++)
    if (s[i] < 64 || s[i] > 190) return false;
  return true;
}
inline bool fast_acts(const float* d, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (d[i] != 0.f && !(d[i] >= 0x1p-60f && d[i] <= 0x1p60f)) return false;
  return true;
}

// 64 weight bytes (4 blocks) against one group of activations (h0/h1, l0/l1: even/odd halves; c: the -12 sum(q)
// start values), scaled per lane by the activation scale d and then the weight scale ws, and added to acc. In that
// order: ws * d would be subnormal, and lose bits, for the smallest E8M0 scales.
inline __m512 group(__m512i b, __m512i h0, __m512i h1, __m512i l0, __m512i l1, __m512i c, __m512 d, __m512 ws,
                    __m512 acc) {
  const __m512i lut = _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  const __m512i lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(b, m4));
  const __m512i hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(b, 4), m4));
  const __m512i ah = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, h0), hi, h1);
  const __m512i al = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(c, lo, l0), hi, l1);
  // Per lane |256 acc_h + acc_l| < 2^25: the conversion rounds at most once, at fp32 precision.
  return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_slli_epi32(ah, 8), al)), d), ws, acc);
}

// One MXFP4 row (G blocks) times one token: a single sequential stream of weights, two accumulators (the FMA
// latency would otherwise bound the loop). kFast: see fast_scales.
template <bool kFast>
inline float row(const uint8_t* blocks, const uint8_t* scales, int64_t G, const Acts& x) {
  const __m512i lane = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
  const int8_t* hl = x.hl;
  auto acts = [&](int64_t q, int k) { return _mm512_loadu_si512(hl + 256 * q + 64 * k); };
  // The careful step: activation scale, then weight scale (e = 0 and 255 patched unless kFast rules them out).
  auto step = [&](int64_t q, __m512i b, int32_t e4, __m512& acc) {
    const __m512 d = _mm512_permutexvar_ps(lane, _mm512_castps128_ps512(_mm_loadu_ps(x.d + 4 * q)));
    acc = group(b, acts(q, 0), acts(q, 1), acts(q, 2), acts(q, 3), _mm512_loadu_si512(x.c + 16 * q), d,
                scales4<!kFast>(e4), acc);
  };
  const int64_t Q = G / 4;
  int64_t q = 0;
  if (kFast) {
    // Four groups per iteration: the 16 blocks' (ws x d) in one vector, spread to each group's lanes by vpermps.
    const __m512i four = _mm512_set1_epi32(4);
    const __m512i l1 = _mm512_add_epi32(lane, four), l2 = _mm512_add_epi32(l1, four), l3 = _mm512_add_epi32(l2, four);
    const __m512 one = _mm512_set1_ps(1.f);
    for (; q + 4 <= Q; q += 4) {
      for (int k = 0; k < 4; k++) _mm_prefetch(reinterpret_cast<const char*>(blocks + 64 * q + 2048 + 64 * k), _MM_HINT_T0);
      const __m512i e = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales + 4 * q)));
      const __m512 sv = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(e, 23)), _mm512_loadu_ps(x.d + 4 * q));
      const uint8_t* b = blocks + 64 * q;
      acc0 = group(_mm512_loadu_si512(b), acts(q, 0), acts(q, 1), acts(q, 2), acts(q, 3), _mm512_loadu_si512(x.c + 16 * q),
                   one, _mm512_permutexvar_ps(lane, sv), acc0);
      acc1 = group(_mm512_loadu_si512(b + 64), acts(q + 1, 0), acts(q + 1, 1), acts(q + 1, 2), acts(q + 1, 3),
                   _mm512_loadu_si512(x.c + 16 * q + 16), one, _mm512_permutexvar_ps(l1, sv), acc1);
      acc0 = group(_mm512_loadu_si512(b + 128), acts(q + 2, 0), acts(q + 2, 1), acts(q + 2, 2), acts(q + 2, 3),
                   _mm512_loadu_si512(x.c + 16 * q + 32), one, _mm512_permutexvar_ps(l2, sv), acc0);
      acc1 = group(_mm512_loadu_si512(b + 192), acts(q + 3, 0), acts(q + 3, 1), acts(q + 3, 2), acts(q + 3, 3),
                   _mm512_loadu_si512(x.c + 16 * q + 48), one, _mm512_permutexvar_ps(l3, sv), acc1);
    }
  } else {
    for (; q + 2 <= Q; q += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(blocks + 64 * q + 2048), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(blocks + 64 * q + 2112), _MM_HINT_T0);
      int64_t e8;
      std::memcpy(&e8, scales + 4 * q, 8);
      step(q, _mm512_loadu_si512(blocks + 64 * q), static_cast<int32_t>(e8), acc0);
      step(q + 1, _mm512_loadu_si512(blocks + 64 * q + 64), static_cast<int32_t>(e8 >> 32), acc1);
    }
  }
  // The remaining full groups, then the partial one: missing blocks load as zero bytes (scale byte 127, i.e. 1),
  // and their activations are zero.
  for (; 4 * q < G; q++) {
    const int nb = static_cast<int>(std::min<int64_t>(4, G - 4 * q));
    uint32_t e4 = 0x7f7f7f7fu;
    for (int i = 0; i < nb; i++) e4 = (e4 & ~(0xffu << (8 * i))) | (uint32_t(scales[4 * q + i]) << (8 * i));
    const __mmask64 m = nb == 4 ? ~__mmask64(0) : (__mmask64(1) << (16 * nb)) - 1;
    step(q, _mm512_maskz_loadu_epi8(m, blocks + 64 * q), static_cast<int32_t>(e4), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// n consecutive MXFP4 rows times one token, res[r] (r < n).
inline void gemv(int64_t n, const uint8_t* blocks, const uint8_t* scales, int64_t G, const Acts& x, float* res) {
  const bool fast = fast_scales(scales, n * G) && fast_acts(x.d, groups(G) * 4);
  for (int64_t r = 0; r < n; r++)
    res[r] = fast ? row<true>(blocks + r * G * 16, scales + r * G, G, x) : row<false>(blocks + r * G * 16, scales + r * G, G, x);
}

}  // namespace i16v
