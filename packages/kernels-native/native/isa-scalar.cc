// Portable variant: one float per "vector". Built without -m flags so it runs on any x86-64 (and any other
// architecture node-gyp targets).
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"
#include "op-profile.h"
#include "thread-pool.h"

namespace gptoss {
namespace isa_scalar {
struct S {
  static constexpr int W = 1, kMaxR = 2, kMaxT = 2;
  using F = float;
  static F zero() { return 0.f; }
  static F set1(float v) { return v; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F v) { *p = v; }
  static F fma(F a, F b, F c) { return a * b + c; }
  static F mul(F a, F b) { return a * b; }
  static float hsum(F v) { return v; }
  static F load_bf16(const uint8_t* p) { return gptoss::load_bf16(p, 0); }
  static void fp4_block(const uint8_t* p, F* out) {
    for (int j = 0; j < 16; j++) {
      out[j] = kFp4x2[p[j] & 15];
      out[16 + j] = kFp4x2[p[j] >> 4];
    }
  }
  static bool bf16dot_enabled() { return false; }
  static bool int8_enabled() { return false; }
  static bool i16_enabled() { return false; }
  static bool i8_enabled() { return false; }
  static void i8_quantize_block(const float*, int32_t*, float*) {}
  static void i8gemm(int64_t, int64_t, const uint8_t*, const uint8_t*, int64_t, const int32_t*, const float*, float*,
                     int, const uint8_t*, int64_t) {}
  static constexpr bool kAttention8x64 = false;
  static bool i16v_enabled() { return false; }
  static void i16v_quantize(const float*, int64_t, int8_t*, float*, int32_t*) {}
  static void i16v_gemv(int64_t, const uint8_t*, const uint8_t*, int64_t, const int8_t*, const float*, const int32_t*,
                        float*) {}
  static void i16_quantize_block(const float*, int32_t*, float*) {}
  static void i16gemm(int64_t, int64_t, const uint8_t*, const uint8_t*, int64_t, const int32_t*, const float*, float*,
                      int, const uint8_t*, int64_t) {}
  static void quantize_block_q8(const float*, int8_t*, int8_t*, float*, int32_t*) {}
  static void mxfp4dot_row_q8(const uint8_t*, const uint8_t*, int64_t, const int8_t*, const float*, const int32_t*, float*) {}
  static void bf16dot(int, int, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*, int) {}
  static void mxfp4dot(int, int, const uint8_t*, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*,
                       int) {}
  static void bf16gemm(int, int, const uint8_t*, int64_t, const uint16_t*, const float* const*, float*, int) {}
  static void widen_block_bf16(const uint8_t*, float, uint16_t*) {}
};
#include "kernels-impl.h"
}  // namespace isa_scalar

const KernelTable* kernels_scalar() {
  static const KernelTable t = {"scalar",         isa_scalar::matmul, isa_scalar::rmsnorm,     isa_scalar::rope,
                                isa_scalar::attention, isa_scalar::moe, isa_scalar::unembed_topk};
  return &t;
}
}  // namespace gptoss
