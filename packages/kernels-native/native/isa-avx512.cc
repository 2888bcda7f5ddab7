// AVX-512 variant (built with -mavx512f/bw/vl/vnni/bf16/vbmi): 16 floats per vector; the 16-entry FP4 table fits
// one zmm, so vpermps decodes a nibble to fp32 in one instruction (it only looks at the index's low 4 bits, so
// the low nibble needs no mask).
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <vector>

#include "common.h"
#include "cpu-features.h"
#include "thread-pool.h"

namespace gptoss {
namespace isa_avx512 {
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
  static void bf16dot(int nr, int nt, const uint8_t* w, int64_t K, const uint16_t* xsplit, const float* const* xs,
                      float* res, int ldr) {
    switch (nr) {
      case 1: bf16dot_nt<1>(nt, w, K, xsplit, xs, res, ldr); break;
      case 2: bf16dot_nt<2>(nt, w, K, xsplit, xs, res, ldr); break;
      case 3: bf16dot_nt<3>(nt, w, K, xsplit, xs, res, ldr); break;
      default: bf16dot_nt<4>(nt, w, K, xsplit, xs, res, ldr); break;
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
