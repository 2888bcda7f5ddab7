// Small ISA-neutral pieces: lookup tables, router top-k, embedding gather, YaRN frequencies, block reordering.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace gptoss {

const float kFp4x2[16] = {0.f, 1.f, 2.f, 3.f, 4.f, 6.f, 8.f, 12.f, -0.f, -1.f, -2.f, -3.f, -4.f, -6.f, -8.f, -12.f};
const int8_t kFp4x2i8[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
#define GPTOSS_FP4_BF16 0x0000, 0x3f80, 0x4000, 0x4040, 0x4080, 0x40c0, 0x4100, 0x4140, \
                        0x8000, 0xbf80, 0xc000, 0xc040, 0xc080, 0xc0c0, 0xc100, 0xc140
const uint16_t kFp4Bf16x2[32] = {GPTOSS_FP4_BF16, GPTOSS_FP4_BF16};
#undef GPTOSS_FP4_BF16

float kScaleHalf[256];
namespace {
struct FillScaleTable {
  FillScaleTable() {
    for (int s = 0; s < 255; s++) kScaleHalf[s] = static_cast<float>(std::ldexp(1.0, s - 128));
    kScaleHalf[255] = NAN;  // E8M0 0xFF is NaN (OCP MX v1.0), as @gptoss/mxfp4 decodes it
  }
} fill_scale_table;
}  // namespace

void router_topk(const float* logits, int64_t t, int n_experts, int k, int32_t* ids, float* weights) {
  std::vector<int> idx(n_experts);
  for (int64_t i = 0; i < t; i++) {
    const float* l = logits + i * n_experts;
    for (int e = 0; e < n_experts; e++) idx[e] = e;
    // Descending by logit; equal logits keep the lower expert index first (Metal's rule).
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int a, int b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    const float m = l[idx[0]];
    float z = 0.f;
    for (int j = 0; j < k; j++) {
      weights[i * k + j] = std::exp(l[idx[j]] - m);
      z += weights[i * k + j];
      ids[i * k + j] = idx[j];
    }
    for (int j = 0; j < k; j++) weights[i * k + j] /= z;
  }
}

void embed_rows(const uint8_t* table, int64_t dim, const int32_t* ids, int64_t t, float* out) {
  for (int64_t i = 0; i < t; i++) {
    const uint8_t* row = table + static_cast<int64_t>(ids[i]) * dim * 2;
    for (int64_t d = 0; d < dim; d++) out[i * dim + d] = load_bf16(row, d);
  }
}

void yarn_inv_freq(const RopeParams& p, float* inv_freq, float* concentration) {
  const int half = p.head_dim / 2;
  const double d = p.head_dim;
  if (p.factor > 1.f) {
    *concentration = static_cast<float>(0.1 * std::log(static_cast<double>(p.factor)) + 1.0);
    const double two_pi = 2.0 * M_PI;
    const double low = half * std::log(p.initial_context / (p.ntk_beta * two_pi)) / std::log(static_cast<double>(p.theta));
    const double high = half * std::log(p.initial_context / (p.ntk_alpha * two_pi)) / std::log(static_cast<double>(p.theta));
    for (int i = 0; i < half; i++) {
      const float freq = std::pow(p.theta, static_cast<float>(2 * i) / static_cast<float>(d));
      const float interp = 1.f / (p.factor * freq);
      const float extrap = 1.f / freq;
      float ramp = static_cast<float>((i - low) / (high - low));
      ramp = std::min(1.f, std::max(0.f, ramp));
      const float mask = 1.f - ramp;
      inv_freq[i] = interp * (1.f - mask) + extrap * mask;
    }
  } else {
    *concentration = 1.f;
    for (int i = 0; i < half; i++) inv_freq[i] = 1.f / std::pow(p.theta, static_cast<float>(2 * i) / static_cast<float>(d));
  }
}

void deinterleave32(const float* x, int64_t n, float* out) {
  for (int64_t b = 0; b + 32 <= n; b += 32)
    for (int j = 0; j < 16; j++) {
      out[b + j] = x[b + 2 * j];
      out[b + 16 + j] = x[b + 2 * j + 1];
    }
}

}  // namespace gptoss
