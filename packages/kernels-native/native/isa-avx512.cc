// AVX-512 variant (built with -mavx512f/bw/vl/vnni/bf16/vbmi): 16 floats per vector; the 16-entry FP4 table fits
// one zmm, so vpermps decodes a nibble to fp32 in one instruction (it only looks at the index's low 4 bits, so
// the low nibble needs no mask).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <vector>

#include "common.h"
#include "op-profile.h"
#include "cpu-features.h"
#include "thread-pool.h"

namespace gptoss {
namespace isa_avx512 {
#include "i16-gemm-avx512.h"
#include "i8-gemm-avx512.h"
#include "i16-gemv-avx512.h"
#include "attention-avx512.h"
struct S {
  static constexpr int W = 16, kMaxR = 4, kMaxT = 4;
  using F = __m512;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
  static F load_bf16(const uint8_t* p) {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static void fp4_block(const uint8_t* p, F* out) {
    const __m512 lut = _mm512_loadu_ps(kFp4x2);
    __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    out[0] = _mm512_permutexvar_ps(b, lut);
    out[1] = _mm512_permutexvar_ps(_mm512_srli_epi32(b, 4), lut);
  }
  static bool bf16_row_mode() {
    static const bool on = [] {
      const char* e = std::getenv("GPTOSS_CPU_BF16ROW");
      return !(e && e[0] == '0');
    }();
    return on;
  }
  static bool bf16dot_enabled() {
    static const bool on = [] {
      const char* e = std::getenv("GPTOSS_CPU_BF16DOT");
      return cpu_features().avx512bf16 && !(e && e[0] == '0');
    }();
    return on;
  }
  // NR rows x NT tokens of dot products; xsplit holds per token [hi K][lo K] bf16; res[t * ldr + r].
  template <int NR, int NT>
  static void bf16dot_tile(const uint8_t* w, int64_t K, const uint16_t* xsplit, const float* const* xs, float* res,
                           int ldr) {
    const int64_t K32 = K & ~int64_t(31);
    __m512 acc[NR][NT];
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K32; k += 32) {
      __m512bh wv[NR];
      for (int r = 0; r < NR; r++) wv[r] = (__m512bh)_mm512_loadu_si512(w + r * K * 2 + k * 2);
      for (int t = 0; t < NT; t++) {
        const uint16_t* hi = xsplit + 2 * t * K;
        const __m512bh xh = (__m512bh)_mm512_loadu_si512(hi + k);
        const __m512bh xl = (__m512bh)_mm512_loadu_si512(hi + K + k);
        for (int r = 0; r < NR; r++) acc[r][t] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc[r][t], wv[r], xh), wv[r], xl);
      }
    }
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) {
        float sum = _mm512_reduce_add_ps(acc[r][t]);
        for (int64_t k = K32; k < K; k++) sum += gptoss::load_bf16(w + r * K * 2, k) * xs[t][k];
        res[t * ldr + r] = sum;
      }
  }
  template <int NR>
  static void bf16dot_nt(int nt, const uint8_t* w, int64_t K, const uint16_t* xsplit, const float* const* xs,
                         float* res, int ldr) {
    for (int t = 0; t < nt; t += 4) {
      const uint16_t* xp = xsplit + 2 * t * K;
      switch (nt - t >= 4 ? 4 : nt - t) {
        case 1: bf16dot_tile<NR, 1>(w, K, xp, xs + t, res + t * ldr, ldr); break;
        case 2: bf16dot_tile<NR, 2>(w, K, xp, xs + t, res + t * ldr, ldr); break;
        case 3: bf16dot_tile<NR, 3>(w, K, xp, xs + t, res + t * ldr, ldr); break;
        default: bf16dot_tile<NR, 4>(w, K, xp, xs + t, res + t * ldr, ldr); break;
      }
    }
  }
  // One row, one token, four independent accumulators: a single sequential stream for the prefetchers.
  static void bf16dot_row(const uint8_t* w, int64_t K, const uint16_t* xsplit, const float* x, float* res) {
    const int64_t K128 = K & ~int64_t(127), K32 = K & ~int64_t(31);
    const uint16_t* hi = xsplit;
    const uint16_t* lo = xsplit + K;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t k = 0;
    for (; k < K128; k += 128) {
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w + k * 2);
      const __m512bh w1 = (__m512bh)_mm512_loadu_si512(w + k * 2 + 64);
      const __m512bh w2 = (__m512bh)_mm512_loadu_si512(w + k * 2 + 128);
      const __m512bh w3 = (__m512bh)_mm512_loadu_si512(w + k * 2 + 192);
      a0 = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a0, w0, (__m512bh)_mm512_loadu_si512(hi + k)), w0, (__m512bh)_mm512_loadu_si512(lo + k));
      a1 = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a1, w1, (__m512bh)_mm512_loadu_si512(hi + k + 32)), w1, (__m512bh)_mm512_loadu_si512(lo + k + 32));
      a2 = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a2, w2, (__m512bh)_mm512_loadu_si512(hi + k + 64)), w2, (__m512bh)_mm512_loadu_si512(lo + k + 64));
      a3 = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a3, w3, (__m512bh)_mm512_loadu_si512(hi + k + 96)), w3, (__m512bh)_mm512_loadu_si512(lo + k + 96));
    }
    for (; k < K32; k += 32) {
      const __m512bh w0 = (__m512bh)_mm512_loadu_si512(w + k * 2);
      a0 = _mm512_dpbf16_ps(_mm512_dpbf16_ps(a0, w0, (__m512bh)_mm512_loadu_si512(hi + k)), w0, (__m512bh)_mm512_loadu_si512(lo + k));
    }
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; k < K; k++) sum += gptoss::load_bf16(w, k) * x[k];
    *res = sum;
  }
  static void bf16dot(int nr, int nt, const uint8_t* w, int64_t K, const uint16_t* xsplit, const float* const* xs,
                      float* res, int ldr) {
    if (nt == 1 && bf16_row_mode()) {
      for (int r = 0; r < nr; r++) bf16dot_row(w + r * K * 2, K, xsplit, xs[0], res + r);
      return;
    }
    switch (nr) {
      case 1: bf16dot_nt<1>(nt, w, K, xsplit, xs, res, ldr); break;
      case 2: bf16dot_nt<2>(nt, w, K, xsplit, xs, res, ldr); break;
      case 3: bf16dot_nt<3>(nt, w, K, xsplit, xs, res, ldr); break;
      default: bf16dot_nt<4>(nt, w, K, xsplit, xs, res, ldr); break;
    }
  }
  // MXFP4 rows (NR) x tokens (NT). Per pair of blocks: 32 bytes -> 32 words (vpmovzxbw), low/high nibbles -> bf16
  // by vpermw (the table repeats so the low nibble needs no mask), 4 bf16 dot products (x hi/lo), then the two
  // block scales as one vector [sA x8, sB x8].
  template <int NR, int NT>
  static void mxfp4dot_tile(const uint8_t* blocks, const uint8_t* scales, int64_t G, const uint16_t* xsplit,
                            const float* const* xs, float* res, int ldr) {
    const int64_t K = G * 32, P = G / 2;
    const __m512i lut = _mm512_loadu_si512(kFp4Bf16x2);
    __m512 acc[NR][NT];
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t p = 0; p < P; p++) {
      for (int r = 0; r < NR; r++) {
        // The loads above stall on DRAM (few bytes per instruction, so few misses in flight): prefetch the same
        // position of the next tile's rows, ~6 KiB ahead, and of its scales.
        _mm_prefetch(reinterpret_cast<const char*>(blocks + ((r + NR) * G + 2 * p) * 16), _MM_HINT_T0);
        if ((p & 3) == 0) _mm_prefetch(reinterpret_cast<const char*>(scales + (r + NR) * G + 2 * p), _MM_HINT_T0);
        const __m512i b = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks + (r * G + 2 * p) * 16)));
        const __m512bh wl = (__m512bh)_mm512_permutexvar_epi16(b, lut);
        const __m512bh wh = (__m512bh)_mm512_permutexvar_epi16(_mm512_srli_epi16(b, 4), lut);
        const uint8_t* sc = scales + r * G + 2 * p;
        const __m512 sv = _mm512_insertf32x8(_mm512_set1_ps(kScaleHalf[sc[0]]), _mm256_set1_ps(kScaleHalf[sc[1]]), 1);
        for (int t = 0; t < NT; t++) {
          const uint16_t* xh = xsplit + 2 * t * K + 64 * p;
          const uint16_t* xl = xh + K;
          // Two short chains instead of one of four: the dot instructions' latency, not their issue rate, bounds
          // a single row-token pair.
          __m512 d0 = _mm512_dpbf16_ps(_mm512_setzero_ps(), wl, (__m512bh)_mm512_loadu_si512(xh));
          __m512 d1 = _mm512_dpbf16_ps(_mm512_setzero_ps(), wh, (__m512bh)_mm512_loadu_si512(xh + 32));
          d0 = _mm512_dpbf16_ps(d0, wl, (__m512bh)_mm512_loadu_si512(xl));
          d1 = _mm512_dpbf16_ps(d1, wh, (__m512bh)_mm512_loadu_si512(xl + 32));
          acc[r][t] = _mm512_fmadd_ps(_mm512_add_ps(d0, d1), sv, acc[r][t]);
        }
      }
    }
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) {
        float sum = _mm512_reduce_add_ps(acc[r][t]);
        if (G & 1) {  // odd block count: the last block in plain fp32 (x is deinterleaved: evens then odds)
          const int64_t g = G - 1;
          const uint8_t* bp = blocks + (r * G + g) * 16;
          float part = 0.f;
          for (int j = 0; j < 16; j++)
            part += kFp4x2[bp[j] & 15] * xs[t][g * 32 + j] + kFp4x2[bp[j] >> 4] * xs[t][g * 32 + 16 + j];
          sum += part * kScaleHalf[scales[r * G + g]];
        }
        res[t * ldr + r] = sum;
      }
  }
  template <int NR>
  static void mxfp4dot_nt(int nt, const uint8_t* blocks, const uint8_t* scales, int64_t G, const uint16_t* xsplit,
                          const float* const* xs, float* res, int ldr) {
    const int64_t K = G * 32;
    for (int t = 0; t < nt; t += 4) {
      const uint16_t* xp = xsplit + 2 * t * K;
      switch (nt - t >= 4 ? 4 : nt - t) {
        case 1: mxfp4dot_tile<NR, 1>(blocks, scales, G, xp, xs + t, res + t * ldr, ldr); break;
        case 2: mxfp4dot_tile<NR, 2>(blocks, scales, G, xp, xs + t, res + t * ldr, ldr); break;
        case 3: mxfp4dot_tile<NR, 3>(blocks, scales, G, xp, xs + t, res + t * ldr, ldr); break;
        default: mxfp4dot_tile<NR, 4>(blocks, scales, G, xp, xs + t, res + t * ldr, ldr); break;
      }
    }
  }
  // One row, one token: a single sequential stream of blocks, two accumulators.
  static void mxfp4dot_row(const uint8_t* blocks, const uint8_t* scales, int64_t G, const uint16_t* xsplit,
                           const float* x, float* res) {
    const int64_t K = G * 32, P = G / 2;
    const __m512i lut = _mm512_loadu_si512(kFp4Bf16x2);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    auto pair = [&](int64_t p, __m512& acc) {
      const __m512i b = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blocks + p * 32)));
      const __m512bh wl = (__m512bh)_mm512_permutexvar_epi16(b, lut);
      const __m512bh wh = (__m512bh)_mm512_permutexvar_epi16(_mm512_srli_epi16(b, 4), lut);
      const __m512 sv = _mm512_insertf32x8(_mm512_set1_ps(kScaleHalf[scales[2 * p]]), _mm256_set1_ps(kScaleHalf[scales[2 * p + 1]]), 1);
      const uint16_t* xh = xsplit + 64 * p;
      const uint16_t* xl = xh + K;
      __m512 d0 = _mm512_dpbf16_ps(_mm512_setzero_ps(), wl, (__m512bh)_mm512_loadu_si512(xh));
      __m512 d1 = _mm512_dpbf16_ps(_mm512_setzero_ps(), wh, (__m512bh)_mm512_loadu_si512(xh + 32));
      d0 = _mm512_dpbf16_ps(d0, wl, (__m512bh)_mm512_loadu_si512(xl));
      d1 = _mm512_dpbf16_ps(d1, wh, (__m512bh)_mm512_loadu_si512(xl + 32));
      acc = _mm512_fmadd_ps(_mm512_add_ps(d0, d1), sv, acc);
    };
    int64_t p = 0;
    for (; p + 2 <= P; p += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(blocks + p * 32 + 2048), _MM_HINT_T0);
      pair(p, acc0);
      pair(p + 1, acc1);
    }
    if (p < P) pair(p, acc0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
    if (G & 1) {
      const int64_t g = G - 1;
      const uint8_t* bp = blocks + g * 16;
      float part = 0.f;
      for (int j = 0; j < 16; j++) part += kFp4x2[bp[j] & 15] * x[g * 32 + j] + kFp4x2[bp[j] >> 4] * x[g * 32 + 16 + j];
      sum += part * kScaleHalf[scales[g]];
    }
    *res = sum;
  }
  static void mxfp4dot(int nr, int nt, const uint8_t* blocks, const uint8_t* scales, int64_t G, const uint16_t* xsplit,
                       const float* const* xs, float* res, int ldr) {
    if (nt == 1 && bf16_row_mode()) {
      for (int r = 0; r < nr; r++) mxfp4dot_row(blocks + r * G * 16, scales + r * G, G, xsplit, xs[0], res + r);
      return;
    }
    switch (nr) {
      case 1: mxfp4dot_nt<1>(nt, blocks, scales, G, xsplit, xs, res, ldr); break;
      case 2: mxfp4dot_nt<2>(nt, blocks, scales, G, xsplit, xs, res, ldr); break;
      case 3: mxfp4dot_nt<3>(nt, blocks, scales, G, xsplit, xs, res, ldr); break;
      default: mxfp4dot_nt<4>(nt, blocks, scales, G, xsplit, xs, res, ldr); break;
    }
  }
  // int16 MXFP4 prefill GEMM (i16-gemm-avx512.h): on by default where VNNI exists, GPTOSS_CPU_INT16GEMM=0 or
  // set_prefill_int16(false) turns it off.
  static bool i16_enabled() { return cpu_features().avx512vnni && gptoss::prefill_int16(); }
  static void i16_quantize_block(const float* xb, int32_t* q, float* d) { i16::quantize_block(xb, q, d); }
  static void i16gemm(int64_t n, int64_t T, const uint8_t* blocks, const uint8_t* scales, int64_t G, const int32_t* q,
                      const float* d, float* res, int ldr, const uint8_t* next, int64_t next_bytes) {
    i16::gemm(n, T, blocks, scales, G, i16::Acts{q, d, G}, res, ldr, next, next_bytes);
  }
  // Opt-in int8 MXFP4 prefill GEMM (i8-gemm-avx512.h): GPTOSS_CPU_PREFILL=int8 or set_prefill_int8(true).
  static bool i8_enabled() { return cpu_features().avx512vnni && gptoss::prefill_int8(); }
  static void i8_quantize_block(const float* xb, int32_t* q, float* d) { i8::quantize_block(xb, q, d); }
  static void i8gemm(int64_t n, int64_t T, const uint8_t* blocks, const uint8_t* scales, int64_t G, const int32_t* q,
                     const float* d, float* res, int ldr, const uint8_t* next, int64_t next_bytes) {
    i8::gemm(n, T, blocks, scales, G, i8::Acts{q, d}, res, ldr, next, next_bytes);
  }
  // Eight E8M0 bytes -> kScaleHalf[e], built in the exponent field: (e - 1) << 23 is 2^(e - 128) for 2 <= e <= 254;
  // e = 0 and 1 (subnormal: the shift would give 0 and -0 / garbage) and 255 (NaN) are patched in.
  static __m256 scales8(const uint8_t* s) {
    int64_t e8;
    std::memcpy(&e8, s, 8);
    const __m256i e = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(e8));
    __m256 ws = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23));
    ws = _mm256_mask_blend_ps(_mm256_cmpeq_epi32_mask(e, _mm256_setzero_si256()), ws, _mm256_set1_ps(kScaleHalf[0]));
    ws = _mm256_mask_blend_ps(_mm256_cmpeq_epi32_mask(e, _mm256_set1_epi32(1)), ws, _mm256_set1_ps(kScaleHalf[1]));
    return _mm256_mask_blend_ps(_mm256_cmpeq_epi32_mask(e, _mm256_set1_epi32(255)), ws, _mm256_set1_ps(NAN));
  }
  // Attention helpers for gpt-oss's shape (attention-avx512.h).
  static constexpr bool kAttention8x64 = true;
  static void dot8x64(const float* q, const float* k, float* out) { attn::dot8x64(q, k, out); }
  static float exp_shifted(float* s, int64_t n, float m, int64_t* done) { return attn::exp_shifted(s, n, m, done); }
  // int16 MXFP4 decode GEMV (i16-gemv-avx512.h): on by default where VNNI exists, GPTOSS_CPU_INT16GEMV=0 or
  // set_decode_int16(false) turns it off; the opt-in int8 decode wins.
  static bool i16v_enabled() { return cpu_features().avx512vnni && gptoss::decode_int16(); }
  static void i16v_quantize(const float* x, int64_t G, int8_t* hl, float* d, int32_t* c) { i16v::quantize(x, G, hl, d, c); }
  static void i16v_gemv(int64_t n, const uint8_t* blocks, const uint8_t* scales, int64_t G, const int8_t* hl,
                        const float* d, const int32_t* c, float* res) {
    i16v::gemv(n, blocks, scales, G, i16v::Acts{hl, d, c}, res);
  }
  static bool int8_enabled() {
    return cpu_features().avx512vnni && gptoss::decode_int8();
  }
  // One block of 32 activations -> int8 (even half to qlo, odd half to qhi), x ~= d * q, c = -12 * sum(q).
  static void quantize_block_q8(const float* xb, int8_t* qlo, int8_t* qhi, float* d, int32_t* c) {
    const __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    if (amax == 0.f) return;  // the buffers are zeroed
    const __m512 inv = _mm512_set1_ps(127.f / amax);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, inv)), q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, inv));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qlo), _mm512_cvtsepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qhi), _mm512_cvtsepi32_epi8(q1));
    *d = amax / 127.f;
    *c = -12 * _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_max_epi32(_mm512_min_epi32(q0, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127)),
                                                        _mm512_max_epi32(_mm512_min_epi32(q1, _mm512_set1_epi32(127)), _mm512_set1_epi32(-127))));
  }
  // One MXFP4 row times one token whose activations are int8 (see quantize_q8): per group of 4 blocks (one per
  // 128-bit lane), vpshufb maps the nibbles to the doubled e2m1 values plus 12 (so they are unsigned for vpdpbusd),
  // and the accumulator starts at -12 * sum(q) of each block, which removes that bias exactly in int32.
  static void mxfp4dot_row_q8(const uint8_t* blocks, const uint8_t* scales, int64_t G, const int8_t* xq,
                              const float* xd, const int32_t* xc, float* res) {
    const __m512i lut = _mm512_broadcast_i32x4(_mm_setr_epi8(12, 13, 14, 15, 16, 18, 20, 24, 12, 11, 10, 9, 8, 6, 4, 0));
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512i lane = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0;
    auto step = [&](int64_t q, __m512i b, __m512 sv, __m512& acc) {
      const __m512i lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(b, m4));
      const __m512i hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(b, 4), m4));
      __m512i d = _mm512_loadu_si512(xc + 16 * q);
      d = _mm512_dpbusd_epi32(d, lo, _mm512_loadu_si512(xq + 128 * q));
      d = _mm512_dpbusd_epi32(d, hi, _mm512_loadu_si512(xq + 128 * q + 64));
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), sv, acc);
    };
    auto group = [&](int64_t q, __m512i b, __m128 ws, __m512& acc) {
      step(q, b, _mm512_permutexvar_ps(lane, _mm512_castps128_ps512(_mm_mul_ps(ws, _mm_loadu_ps(xd + 4 * q)))), acc);
    };
    auto full = [&](int64_t q, __m512& acc) {
      const uint8_t* sc = scales + 4 * q;
      group(q, _mm512_loadu_si512(blocks + 64 * q),
            _mm_setr_ps(kScaleHalf[sc[0]], kScaleHalf[sc[1]], kScaleHalf[sc[2]], kScaleHalf[sc[3]]), acc);
    };
    const int64_t Q = G / 4;
    int64_t q = 0;
    const __m512i lane2 = _mm512_setr_epi32(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
    for (; q + 2 <= Q; q += 2) {
      _mm_prefetch(reinterpret_cast<const char*>(blocks + 64 * q + 3072), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(blocks + 64 * q + 3136), _MM_HINT_T0);
      const __m512 s8 = _mm512_castps256_ps512(_mm256_mul_ps(scales8(scales + 4 * q), _mm256_loadu_ps(xd + 4 * q)));
      step(q, _mm512_loadu_si512(blocks + 64 * q), _mm512_permutexvar_ps(lane, s8), acc0);
      step(q + 1, _mm512_loadu_si512(blocks + 64 * q + 64), _mm512_permutexvar_ps(lane2, s8), acc1);
    }
    if (q < Q) full(q++, acc0);
    const int rem = static_cast<int>(G - 4 * Q);
    if (rem) {
      // Missing blocks load as zero bytes, and their activations, scales and corrections are zero.
      float ws[4] = {0.f, 0.f, 0.f, 0.f};
      for (int i = 0; i < rem; i++) ws[i] = kScaleHalf[scales[4 * q + i]];
      const __m512i b = _mm512_maskz_loadu_epi8((__mmask64(1) << (16 * rem)) - 1, blocks + 64 * q);
      group(q, b, _mm_loadu_ps(ws), acc1);
    }
    *res = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  }
  // One MXFP4 block -> 32 bf16 (even values, then odd), scaled; exact since the products are powers of two times e2m1.
  static void widen_block_bf16(const uint8_t* p, float scale, uint16_t* out) {
    F v[2];
    fp4_block(p, v);
    const F sc = _mm512_set1_ps(scale);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(v[0], sc)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 16), (__m256i)_mm512_cvtneps_pbh(_mm512_mul_ps(v[1], sc)));
  }
  // bf16 prefill GEMM: NR weight rows (bf16, row stride K) x NT tokens (bf16 activations [T][K]).
  template <int NR, int NT>
  static void bf16gemm_tile(const uint8_t* w, int64_t K, const uint16_t* xb, const float* const* xs, float* res,
                            int ldr) {
    const int64_t K32 = K & ~int64_t(31);
    __m512 acc[NR][NT];
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t k = 0; k < K32; k += 32) {
      __m512bh wv[NR];
      for (int r = 0; r < NR; r++) wv[r] = (__m512bh)_mm512_loadu_si512(w + (r * K + k) * 2);
      for (int t = 0; t < NT; t++) {
        const __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + t * K + k);
        for (int r = 0; r < NR; r++) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
      }
    }
    for (int r = 0; r < NR; r++)
      for (int t = 0; t < NT; t++) {
        float sum = _mm512_reduce_add_ps(acc[r][t]);
        for (int64_t k = K32; k < K; k++) sum += gptoss::load_bf16(w + r * K * 2, k) * xs[t][k];
        res[t * ldr + r] = sum;
      }
  }
  template <int NR>
  static void bf16gemm_nt(int nt, const uint8_t* w, int64_t K, const uint16_t* xb, const float* const* xs, float* res,
                          int ldr) {
    int t = 0;
    for (; t + 4 <= nt; t += 4) bf16gemm_tile<NR, 4>(w, K, xb + t * K, xs + t, res + t * ldr, ldr);
    switch (nt - t) {
      case 1: bf16gemm_tile<NR, 1>(w, K, xb + t * K, xs + t, res + t * ldr, ldr); break;
      case 2: bf16gemm_tile<NR, 2>(w, K, xb + t * K, xs + t, res + t * ldr, ldr); break;
      case 3: bf16gemm_tile<NR, 3>(w, K, xb + t * K, xs + t, res + t * ldr, ldr); break;
      default: break;
    }
  }
  static void bf16gemm(int n, int nt, const uint8_t* w, int64_t K, const uint16_t* xb, const float* const* xs,
                       float* res, int ldr) {
    int r = 0;
    for (; r + 4 <= n; r += 4) bf16gemm_nt<4>(nt, w + r * K * 2, K, xb, xs, res + r, ldr);
    switch (n - r) {
      case 1: bf16gemm_nt<1>(nt, w + r * K * 2, K, xb, xs, res + r, ldr); break;
      case 2: bf16gemm_nt<2>(nt, w + r * K * 2, K, xb, xs, res + r, ldr); break;
      case 3: bf16gemm_nt<3>(nt, w + r * K * 2, K, xb, xs, res + r, ldr); break;
      default: break;
    }
  }
};
#include "kernels-impl.h"
}  // namespace isa_avx512

const KernelTable* kernels_avx512() {
  static const KernelTable t = {"avx512",         isa_avx512::matmul, isa_avx512::rmsnorm,     isa_avx512::rope,
                                isa_avx512::attention, isa_avx512::moe, isa_avx512::unembed_topk};
  return &t;
}
}  // namespace gptoss
