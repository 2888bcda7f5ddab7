#include "model.h"

#include <algorithm>
#include <cmath>

#include "dispatch.h"
#include "op-profile.h"

namespace gptoss {

void KvCache::reserve(const ModelDims& d, int64_t positions) {
  if (positions <= allocated) return;
  int64_t n = std::max<int64_t>(positions, std::min<int64_t>(capacity, std::max<int64_t>(allocated * 2, 64)));
  const int64_t row = static_cast<int64_t>(d.n_kv) * d.head_dim;
  k.resize(d.layers);
  v.resize(d.layers);
  for (int l = 0; l < d.layers; l++) {
    k[l].resize(n * row);
    v[l].resize(n * row);
  }
  allocated = n;
}

void forward(const ModelDims& d, const ModelWeights& w, const ForwardRequest& r) {
  const KernelTable& K = kernels();
  const int64_t T = r.t, H = d.hidden, D = d.head_dim;
  const int64_t q_w = static_cast<int64_t>(d.n_heads) * D, kv_w = static_cast<int64_t>(d.n_kv) * D;
  const int64_t qkv_w = q_w + 2 * kv_w;
  std::vector<float> x(T * H), t(T * H), qkv(T * qkv_w), attn(T * q_w), proj(T * H), gl(T * d.experts);
  std::vector<int32_t> ids(T * d.top_k);
  std::vector<float> gw(T * d.top_k);
  {
    ProfScope p(kOpEmbed);
    embed_rows(w.embedding, H, r.tokens, T, x.data());
  }
  for (int64_t i = 0; i < T; i++) r.caches[r.seq[i]]->reserve(d, r.positions[i] + 1);

  // Runs of consecutive tokens that belong to one sequence.
  std::vector<std::pair<int64_t, int64_t>> runs;
  for (int64_t i = 0; i < T;) {
    int64_t j = i + 1;
    while (j < T && r.seq[j] == r.seq[i]) j++;
    runs.emplace_back(i, j);
    i = j;
  }

  for (int l = 0; l < d.layers; l++) {
    const LayerWeights& L = w.layers[l];
    {
      ProfScope p(kOpNorm);
      K.rmsnorm(x.data(), T, H, L.attn_norm, d.eps, t.data());
    }
    MatmulArgs m;
    m.x = t.data(); m.ldx = H; m.t = T; m.w = L.qkv; m.bias = L.qkv_b; m.out = qkv.data(); m.ldo = qkv_w;
    {
      ProfScope p(kOpQkv);
      K.matmul(m);
    }
    {
      ProfScope p(kOpRope);
      K.rope(qkv.data(), T, qkv_w, d.n_heads, r.positions, d.rope);
      K.rope(qkv.data() + q_w, T, qkv_w, d.n_kv, r.positions, d.rope);
    }
    {
      ProfScope p(kOpOther);
      for (int64_t i = 0; i < T; i++) {
        KvCache* c = r.caches[r.seq[i]];
        const int64_t pos = r.positions[i];
        std::copy_n(qkv.data() + i * qkv_w + q_w, kv_w, c->k[l].data() + pos * kv_w);
        std::copy_n(qkv.data() + i * qkv_w + q_w + kv_w, kv_w, c->v[l].data() + pos * kv_w);
      }
    }
    for (auto& run : runs) {
      ProfScope p(kOpAttention);
      KvCache* c = r.caches[r.seq[run.first]];
      AttentionArgs a;
      a.q = qkv.data() + run.first * qkv_w; a.ldq = qkv_w;
      a.k = c->k[l].data(); a.v = c->v[l].data();
      a.positions = r.positions + run.first;
      a.t = run.second - run.first;
      a.n_heads = d.n_heads; a.n_kv = d.n_kv; a.head_dim = d.head_dim;
      a.window = (l % 2 == 0) ? d.sliding_window : 0;
      a.sinks = L.sinks;
      a.sm_scale = 1.f / std::sqrt(static_cast<float>(D));
      a.out = attn.data() + run.first * q_w; a.ldo = q_w;
      K.attention(a);
    }
    m = MatmulArgs();
    m.x = attn.data(); m.ldx = q_w; m.t = T; m.w = L.out; m.bias = L.out_b; m.out = proj.data(); m.ldo = H;
    {
      ProfScope p(kOpOut);
      K.matmul(m);
    }
    {
      ProfScope p(kOpOther);
      for (int64_t i = 0; i < T * H; i++) x[i] += proj[i];
    }
    {
      ProfScope p(kOpNorm);
      K.rmsnorm(x.data(), T, H, L.mlp_norm, d.eps, t.data());
    }
    m = MatmulArgs();
    m.x = t.data(); m.ldx = H; m.t = T; m.w = L.gate; m.bias = L.gate_b; m.out = gl.data(); m.ldo = d.experts;
    m.exact = true;
    {
      ProfScope p(kOpRouter);
      K.matmul(m);
      router_topk(gl.data(), T, d.experts, d.top_k, ids.data(), gw.data());
    }
    MoeArgs e;
    e.x = t.data(); e.t = T; e.hidden = H; e.inter = d.inter;
    e.expert_ids = ids.data(); e.expert_w = gw.data(); e.top_k = d.top_k; e.n_experts = d.experts;
    e.w1_blocks = L.w1_blocks; e.w1_scales = L.w1_scales; e.b1 = L.b1;
    e.w2_blocks = L.w2_blocks; e.w2_scales = L.w2_scales; e.b2 = L.b2;
    e.swiglu_limit = d.swiglu_limit; e.swiglu_alpha = d.swiglu_alpha;
    e.out = x.data();
    ProfScope p(kOpMoe);
    K.moe(e);
  }
  const int64_t n_out = static_cast<int64_t>(r.out_rows.size());
  if (n_out == 0 || (!r.logits && r.top_k <= 0)) return;
  std::vector<float> xo(n_out * H), xn(n_out * H);
  for (int64_t i = 0; i < n_out; i++) std::copy_n(x.data() + r.out_rows[i] * H, H, xo.data() + i * H);
  ProfScope p(kOpUnembed);
  K.rmsnorm(xo.data(), n_out, H, w.norm, d.eps, xn.data());
  TopkArgs u;
  u.x = xn.data(); u.t = n_out; u.w = w.unembedding; u.k = r.top_k > 0 ? r.top_k : 1;
  u.logits = r.logits;
  u.top_ids = r.top_k > 0 ? r.top_ids : nullptr;
  u.top_vals = r.top_k > 0 ? r.top_vals : nullptr;
  K.unembed_topk(u);
}

}  // namespace gptoss
