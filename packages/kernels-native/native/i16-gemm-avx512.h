// Prefill GEMM of MXFP4 weights on AVX-512 VNNI with integer dot products, fp32-accurate:
//   - FP4 (e2m1) values times two are the integers {0, ±1, ±2, ±3, ±4, ±6, ±8, ±12}, exact in int16;
//   - activations are quantized per token per 32-value block to int16 with their own fp32 scale
//     (max-abs / 32767, round to nearest): at most 1/65534 of the block's largest value per element;
//   - vpdpwssd does 32 multiply-adds per instruction, twice the fp32 FMA rate.
// A block's 32 products sum to at most 32 * 12 * 32767 < 2^24, so the int32 sum is exact and so is its conversion
// to fp32; each block then costs one fp32 multiply-add with (row scale x token scale), the only roundings besides
// the activation quantization.
//
// Panel layout (built once per 16 rows, reused for every token): per block g and pair j (0..15) one zmm whose 16
// int32 lanes are 16 rows, each holding the pair (w[2j], w[2j+1]) as int16 — exactly what one MXFP4 byte encodes.
// An activation pair is broadcast to all lanes, so one instruction serves 16 rows of one token.
// Included inside namespace gptoss::isa_avx512 by isa-avx512.cc.

namespace i16 {

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
  // Divide rather than multiply by 32767 / amax: that reciprocal overflows for subnormal amax.
  const float scale = amax / 32767.f;
  const __m512 sv = _mm512_set1_ps(scale);
  __m512i q0 = _mm512_cvtps_epi32(_mm512_div_ps(v0, sv));
  __m512i q1 = _mm512_cvtps_epi32(_mm512_div_ps(v1, sv));
  // amax / scale can round to 32767.0039 only in theory; clamp so the int16 never wraps.
  const __m512i hi = _mm512_set1_epi32(32767), lo = _mm512_set1_epi32(-32767);
  q0 = _mm512_max_epi32(_mm512_min_epi32(q0, hi), lo);
  q1 = _mm512_max_epi32(_mm512_min_epi32(q1, hi), lo);
  _mm512_storeu_si512(q, _mm512_mask_blend_epi16(0xAAAAAAAAu, q0, _mm512_slli_epi32(q1, 16)));
  *d = scale;
}

// rows [n] of MXFP4 -> panel. pw [V][G][16 pairs][16 lanes] int32, ps [V][G][16 lanes] fp32 (scale / 2, folding the
// doubled FP4 values back), V = ceil(n / 16); lanes past n are zero.
inline void build_panel(const uint8_t* blocks, const uint8_t* scales, int64_t n, int64_t G, int32_t* pw, float* ps) {
  // int16 FP4 values times two, repeated so that vpermw (which reads 5 index bits) needs no mask.
  alignas(64) static const int16_t lut_data[32] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12,
                                                  0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
  const __m512i lut = _mm512_load_si512(lut_data);
  const int64_t V = (n + 15) / 16;
  for (int64_t v = 0; v < V; v++) {
    const int nr = static_cast<int>(std::min<int64_t>(16, n - v * 16));
    const uint8_t* b0 = blocks + v * 16 * G * 16;
    const uint8_t* s0 = scales + v * 16 * G;
    for (int64_t g = 0; g < G; g++) {
      // Decode each row's block to 16 int32 pairs (lane j = byte j: low nibble in the low int16, high nibble in the
      // high one, via index = b | b << 12), then transpose 16 x 16 so that lanes become rows.
      __m512i r[16];
      for (int i = 0; i < 16; i++) {
        if (i < nr) {
          const __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b0 + (i * G + g) * 16)));
          r[i] = _mm512_permutexvar_epi16(_mm512_or_si512(b, _mm512_slli_epi32(b, 12)), lut);
        } else {
          r[i] = _mm512_setzero_si512();
        }
      }
      // Stage 1+2: within each 128-bit lane L, s[4q + m] holds column 4L + m of rows 4q..4q+3.
      __m512i t[16], s[16];
      for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
      }
      for (int q = 0; q < 4; q++) {
        s[4 * q + 0] = _mm512_unpacklo_epi64(t[4 * q], t[4 * q + 2]);
        s[4 * q + 1] = _mm512_unpackhi_epi64(t[4 * q], t[4 * q + 2]);
        s[4 * q + 2] = _mm512_unpacklo_epi64(t[4 * q + 1], t[4 * q + 3]);
        s[4 * q + 3] = _mm512_unpackhi_epi64(t[4 * q + 1], t[4 * q + 3]);
      }
      // Stage 3+4: a 4 x 4 transpose of 128-bit lanes for each m.
      int32_t* out = pw + (v * G + g) * 256;
      for (int m = 0; m < 4; m++) {
        const __m512i u0 = _mm512_shuffle_i32x4(s[m], s[4 + m], 0x44);
        const __m512i u1 = _mm512_shuffle_i32x4(s[m], s[4 + m], 0xee);
        const __m512i u2 = _mm512_shuffle_i32x4(s[8 + m], s[12 + m], 0x44);
        const __m512i u3 = _mm512_shuffle_i32x4(s[8 + m], s[12 + m], 0xee);
        _mm512_store_si512(out + (0 + m) * 16, _mm512_shuffle_i32x4(u0, u2, 0x88));
        _mm512_store_si512(out + (4 + m) * 16, _mm512_shuffle_i32x4(u0, u2, 0xdd));
        _mm512_store_si512(out + (8 + m) * 16, _mm512_shuffle_i32x4(u1, u3, 0x88));
        _mm512_store_si512(out + (12 + m) * 16, _mm512_shuffle_i32x4(u1, u3, 0xdd));
      }
      alignas(64) float sc[16];
      for (int i = 0; i < 16; i++) sc[i] = i < nr ? gptoss::kScaleHalf[s0[i * G + g]] : 0.f;
      _mm512_store_ps(ps + (v * G + g) * 16, _mm512_load_ps(sc));
    }
  }
}

// NRV row vectors (16 rows each) x NT tokens over all G blocks; res[t * ldr + lane] for the first `rows` lanes.
template <int NRV, int NT>
inline void tile(const int32_t* pw, const float* ps, int64_t G, const int32_t* xq, const float* xd, int64_t xstride,
                 float* res, int ldr, int rows) {
  __m512 facc[NRV][NT];
  for (int v = 0; v < NRV; v++)
    for (int t = 0; t < NT; t++) facc[v][t] = _mm512_setzero_ps();
  for (int64_t g = 0; g < G; g++) {
    __m512i iacc[NRV][NT];
    for (int v = 0; v < NRV; v++)
      for (int t = 0; t < NT; t++) iacc[v][t] = _mm512_setzero_si512();
    const int32_t* w = pw + g * 256;
    const int32_t* x = xq + g * 16;
    for (int j = 0; j < 16; j++) {
      __m512i wv[NRV];
      for (int v = 0; v < NRV; v++) wv[v] = _mm512_load_si512(w + v * G * 256 + j * 16);
      for (int t = 0; t < NT; t++) {
        const __m512i xb = _mm512_set1_epi32(x[t * xstride + j]);
        for (int v = 0; v < NRV; v++) iacc[v][t] = _mm512_dpwssd_epi32(iacc[v][t], wv[v], xb);
      }
    }
    for (int v = 0; v < NRV; v++) {
      const __m512 sv = _mm512_load_ps(ps + (v * G + g) * 16);
      for (int t = 0; t < NT; t++)
        facc[v][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[v][t]), _mm512_mul_ps(sv, _mm512_set1_ps(xd[t * G + g])),
                                     facc[v][t]);
    }
  }
  for (int v = 0; v < NRV; v++) {
    const int left = rows - 16 * v;
    if (left <= 0) break;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(res + t * ldr + 16 * v, m, facc[v][t]);
  }
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
    // 64-byte aligned: the kernel uses aligned loads.
    pw = static_cast<int32_t*>(std::aligned_alloc(64, need * 256 * sizeof(int32_t)));
    ps = static_cast<float*>(std::aligned_alloc(64, need * 16 * sizeof(float)));
    cap = need;
  }
};

// Raw dot products of MXFP4 rows [n] (blocks/scales of the first row) with T quantized tokens, res[t * ldr + r].
inline void gemm(int64_t n, int64_t T, const uint8_t* blocks, const uint8_t* scales, int64_t G, const Acts& x,
                 float* res, int ldr) {
  thread_local Scratch s;
  const int64_t V = (n + 15) / 16;
  s.reserve(V, G);
  build_panel(blocks, scales, n, G, s.pw, s.ps);
  for (int64_t v = 0; v < V; v += 2) {
    const int rows = static_cast<int>(std::min<int64_t>(32, n - 16 * v));
    for (int64_t t = 0; t < T; t += kNT) {
      const int nt = static_cast<int>(std::min<int64_t>(kNT, T - t));
      const int32_t* xq = x.q + t * G * 16;
      const float* xd = x.d + t * G;
      float* r = res + t * ldr + 16 * v;
      if (rows > 16)
        tile_nt<2>(nt, s.pw + v * G * 256, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
      else
        tile_nt<1>(nt, s.pw + v * G * 256, s.ps + v * G * 16, G, xq, xd, r, ldr, rows);
    }
  }
}

}  // namespace i16
