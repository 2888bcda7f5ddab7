// AVX2 + FMA variant: 8 floats per vector; FP4 nibbles go through a 16-entry int8 table with vpshufb and are
// widened to fp32.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "op-profile.h"
#include "thread-pool.h"

namespace gptoss {
namespace isa_avx2 {
struct S : NoAvx512Kernels {
  static constexpr int W = 8, kMaxR = 3, kMaxT = 3;
  using F = __m256;
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static F load_bf16(const uint8_t* p) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static void fp4_block(const uint8_t* p, F* out) {
    const __m128i lut = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kFp4x2i8));
    const __m128i m = _mm_set1_epi8(0x0f);
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(b, m));
    __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(b, 4), m));
    out[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
    out[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
    out[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
    out[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
  }
};
#include "kernels-impl.h"
}  // namespace isa_avx2

const KernelTable* kernels_avx2() {
  static const KernelTable t = {"avx2",         isa_avx2::matmul, isa_avx2::rmsnorm,     isa_avx2::rope,
                                isa_avx2::attention, isa_avx2::moe, isa_avx2::unembed_topk};
  return &t;
}
}  // namespace gptoss
