// AVX-512 variant (built with -mavx512f/bw/vl/vnni/bf16/vbmi): 16 floats per vector; the 16-entry FP4 table fits
// one zmm, so vpermps decodes a nibble to fp32 in one instruction (it only looks at the index's low 4 bits, so
// the low nibble needs no mask).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
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
};
#include "kernels-impl.h"
}  // namespace isa_avx512

const KernelTable* kernels_avx512() {
  static const KernelTable t = {"avx512",         isa_avx512::matmul, isa_avx512::rmsnorm,     isa_avx512::rope,
                                isa_avx512::attention, isa_avx512::moe, isa_avx512::unembed_topk};
  return &t;
}
}  // namespace gptoss
