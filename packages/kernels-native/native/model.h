// The gpt-oss forward pass composed from the kernels, so that one decode step is one native call (no per-layer
// round trips through JS). Weights are pointers into memory the caller keeps alive (mmapped checkpoint files).
#pragma once
#include <cstdint>
#include <vector>

#include "common.h"

namespace gptoss {

struct ModelDims {
  int layers = 0, experts = 0, top_k = 4, vocab = 0, hidden = 0, inter = 0, head_dim = 64, n_heads = 0, n_kv = 0;
  int sliding_window = 128;
  float swiglu_limit = 7.f, swiglu_alpha = 1.702f, eps = 1e-5f;
  RopeParams rope;
};

struct LayerWeights {
  Vec attn_norm, qkv_b, sinks, out_b, mlp_norm, gate_b, b1, b2;
  Weight qkv, out, gate;
  const uint8_t *w1_blocks = nullptr, *w1_scales = nullptr, *w2_blocks = nullptr, *w2_scales = nullptr;
};

struct ModelWeights {
  const uint8_t* embedding = nullptr;  // bf16 [V, H]
  std::vector<LayerWeights> layers;
  Vec norm;
  Weight unembedding;  // bf16 [V, H]
};

// K and V of one sequence, per layer [capacity][n_kv * head_dim] fp32, grown on demand.
struct KvCache {
  std::vector<std::vector<float>> k, v;
  int64_t allocated = 0;  // positions allocated per layer
  int64_t capacity = 0;
  void reserve(const ModelDims& d, int64_t positions);
};

struct ForwardRequest {
  const int32_t* tokens = nullptr;     // [T]
  const int32_t* positions = nullptr;  // [T]
  const int32_t* seq = nullptr;        // [T] index into caches; tokens of one sequence are contiguous
  int64_t t = 0;
  std::vector<KvCache*> caches;
  // Rows of the batch whose output is wanted (e.g. the last token of each sequence).
  std::vector<int32_t> out_rows;
  float* logits = nullptr;    // [out_rows, V] or null
  int top_k = 0;              // > 0: fill top ids/values per out row
  int32_t* top_ids = nullptr;
  float* top_vals = nullptr;
};

void forward(const ModelDims& d, const ModelWeights& w, const ForwardRequest& r);

}  // namespace gptoss
