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
struct S : NoAvx512Kernels {
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
};
#include "kernels-impl.h"
}  // namespace isa_scalar

const KernelTable* kernels_scalar() {
  static const KernelTable t = {"scalar",         isa_scalar::matmul, isa_scalar::rmsnorm,     isa_scalar::rope,
                                isa_scalar::attention, isa_scalar::moe, isa_scalar::unembed_topk};
  return &t;
}
}  // namespace gptoss
