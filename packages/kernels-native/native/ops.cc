// Bindings of the individual kernels. Argument order mirrors src/binding.ts (NativeAddon); the TypeScript layer
// validates shapes, so here we only check that buffers are large enough to keep native code in bounds.
#include <vector>

#include "common.h"
#include "dispatch.h"
#include "napi-util.h"
#include "ops.h"

namespace gptoss {
namespace {

Vec vec_arg(Args& a, const char* what, size_t n, bool optional) {
  View v = a.view(what, optional);
  Vec out;
  const int dt = static_cast<int>(a.num("dtype"));
  if (!v.data) return out;
  if (v.bytes < n * (dt == kBF16 ? 2 : 4)) throw Napi::RangeError::New(a.env(), std::string(what) + ": too small");
  out.data = v.data;
  out.dtype = dt;
  return out;
}

// matmul(x f32[t,k], t, weightFormat, w, scales|null, rows, k, bias|null, biasDtype, out f32, epilogue, limit, alpha)
struct MatmulOp : Op {
  MatmulArgs m;
  std::vector<float> xd;
  void parse(Args& a) override {
    View x = a.view("x");
    m.t = a.i64("t");
    m.w.format = static_cast<int>(a.num("weightFormat"));
    View w = a.view("weight");
    View s = a.view("scales", true);
    m.w.rows = a.i64("rows");
    m.w.k = a.i64("k");
    m.bias = vec_arg(a, "bias", m.w.rows, true);
    View o = a.view("out");
    m.epilogue = static_cast<int>(a.num("epilogue"));
    m.swiglu_limit = static_cast<float>(a.num("limit"));
    m.swiglu_alpha = static_cast<float>(a.num("alpha"));
    const size_t T = m.t, R = m.w.rows, K = m.w.k;
    const size_t wbytes = m.w.format == kWMXFP4 ? R * K / 2 : R * K * (m.w.format == kWF32 ? 4 : 2);
    if (x.bytes < T * K * 4 || w.bytes < wbytes || o.bytes < T * (m.epilogue == kSwiglu ? R / 2 : R) * 4 ||
        (m.w.format == kWMXFP4 && (!s.data || s.bytes < R * K / 32 || K % 32 != 0)))
      throw Napi::RangeError::New(a.env(), "matmul: a buffer is smaller than the shapes require");
    m.x = reinterpret_cast<const float*>(x.data);
    m.ldx = m.w.k;
    m.w.data = w.data;
    m.w.scales = s.data;
    m.out = reinterpret_cast<float*>(o.data);
    m.ldo = m.epilogue == kSwiglu ? m.w.rows / 2 : m.w.rows;
  }
  void run() override {
    if (m.w.format == kWMXFP4) {  // MXFP4 tiles expect block-deinterleaved activations
      xd.resize(m.t * m.w.k);
      for (int64_t t = 0; t < m.t; t++) deinterleave32(m.x + t * m.w.k, m.w.k, xd.data() + t * m.w.k);
      m.x = xd.data();
    }
    kernels().matmul(m);
  }
};

// rmsnorm(x, t, n, scale, scaleDtype, eps, out)
struct RmsnormOp : Op {
  const float* x; int64_t t, n; Vec scale; float eps; float* out;
  void parse(Args& a) override {
    View xv = a.view("x");
    t = a.i64("t"); n = a.i64("n");
    scale = vec_arg(a, "scale", n, false);
    eps = static_cast<float>(a.num("eps"));
    View o = a.view("out");
    if (xv.bytes < size_t(t * n * 4) || o.bytes < size_t(t * n * 4)) throw Napi::RangeError::New(a.env(), "rmsnorm: buffer too small");
    x = reinterpret_cast<const float*>(xv.data); out = reinterpret_cast<float*>(o.data);
  }
  void run() override { kernels().rmsnorm(x, t, n, scale, eps, out); }
};

// rope(x, t, ld, nHeads, positions i32, headDim, theta, factor, ntkAlpha, ntkBeta, initialContext)
struct RopeOp : Op {
  float* x; int64_t t, ld; int heads; const int32_t* pos; RopeParams p;
  void parse(Args& a) override {
    View xv = a.view("x");
    t = a.i64("t"); ld = a.i64("ld"); heads = static_cast<int>(a.num("nHeads"));
    View pv = a.view("positions");
    p.head_dim = static_cast<int>(a.num("headDim"));
    p.theta = static_cast<float>(a.num("theta"));
    p.factor = static_cast<float>(a.num("factor"));
    p.ntk_alpha = static_cast<float>(a.num("ntkAlpha"));
    p.ntk_beta = static_cast<float>(a.num("ntkBeta"));
    p.initial_context = static_cast<float>(a.num("initialContext"));
    if (xv.bytes < size_t(((t - 1) * ld + int64_t(heads) * p.head_dim) * 4) || pv.bytes < size_t(t * 4))
      throw Napi::RangeError::New(a.env(), "rope: buffer too small");
    x = reinterpret_cast<float*>(xv.data); pos = reinterpret_cast<const int32_t*>(pv.data);
  }
  void run() override { kernels().rope(x, t, ld, heads, pos, p); }
};

// attention(q, ldq, k, v, positions, t, nHeads, nKv, headDim, window, sinks, sinksDtype, smScale, out, ldo)
struct AttentionOp : Op {
  AttentionArgs at;
  void parse(Args& a) override {
    View q = a.view("q"); at.ldq = a.i64("ldq");
    View k = a.view("k"); View v = a.view("v"); View p = a.view("positions");
    at.t = a.i64("t"); at.n_heads = static_cast<int>(a.num("nHeads")); at.n_kv = static_cast<int>(a.num("nKv"));
    at.head_dim = static_cast<int>(a.num("headDim")); at.window = static_cast<int>(a.num("window"));
    at.sinks = vec_arg(a, "sinks", at.n_heads, false);
    at.sm_scale = static_cast<float>(a.num("smScale"));
    View o = a.view("out"); at.ldo = a.i64("ldo");
    if (p.bytes < size_t(at.t * 4)) throw Napi::RangeError::New(a.env(), "attention: positions too small");
    const int32_t* pos = reinterpret_cast<const int32_t*>(p.data);
    int64_t maxp = 0;
    for (int64_t i = 0; i < at.t; i++) maxp = std::max<int64_t>(maxp, pos[i]);
    const size_t kv = size_t(maxp + 1) * at.n_kv * at.head_dim * 4;
    if (k.bytes < kv || v.bytes < kv || q.bytes < size_t(((at.t - 1) * at.ldq + int64_t(at.n_heads) * at.head_dim) * 4) ||
        o.bytes < size_t(((at.t - 1) * at.ldo + int64_t(at.n_heads) * at.head_dim) * 4) || at.n_kv <= 0 ||
        at.n_heads % at.n_kv != 0)
      throw Napi::RangeError::New(a.env(), "attention: a buffer is smaller than the shapes require");
    at.q = reinterpret_cast<const float*>(q.data); at.k = reinterpret_cast<const float*>(k.data);
    at.v = reinterpret_cast<const float*>(v.data); at.positions = pos; at.out = reinterpret_cast<float*>(o.data);
  }
  void run() override { kernels().attention(at); }
};

// routerTopk(logits, t, nExperts, k, ids i32, weights f32)
struct RouterOp : Op {
  const float* l; int64_t t; int e, k; int32_t* ids; float* w;
  void parse(Args& a) override {
    View lv = a.view("logits"); t = a.i64("t"); e = static_cast<int>(a.num("nExperts")); k = static_cast<int>(a.num("k"));
    View iv = a.view("ids"); View wv = a.view("weights");
    if (k < 1 || k > e || lv.bytes < size_t(t * e * 4) || iv.bytes < size_t(t * k * 4) || wv.bytes < size_t(t * k * 4))
      throw Napi::RangeError::New(a.env(), "routerTopk: bad k or buffer too small");
    l = reinterpret_cast<const float*>(lv.data); ids = reinterpret_cast<int32_t*>(iv.data); w = reinterpret_cast<float*>(wv.data);
  }
  void run() override { router_topk(l, t, e, k, ids, w); }
};

// moe(x, t, hidden, inter, ids, weights, topK, nExperts, w1Blocks, w1Scales, b1, b1Dtype, w2Blocks, w2Scales, b2,
//     b2Dtype, limit, alpha, out)
struct MoeOp : Op {
  MoeArgs m;
  void parse(Args& a) override {
    View x = a.view("x"); m.t = a.i64("t"); m.hidden = a.i64("hidden"); m.inter = a.i64("inter");
    View ids = a.view("ids"); View w = a.view("weights");
    m.top_k = static_cast<int>(a.num("topK")); m.n_experts = static_cast<int>(a.num("nExperts"));
    const size_t E = m.n_experts, H = m.hidden, I = m.inter;
    View w1b = a.need("w1Blocks", E * 2 * I * H / 2, 1), w1s = a.need("w1Scales", E * 2 * I * H / 32, 1);
    m.b1 = vec_arg(a, "b1", E * 2 * I, true);
    View w2b = a.need("w2Blocks", E * H * I / 2, 1), w2s = a.need("w2Scales", E * H * I / 32, 1);
    m.b2 = vec_arg(a, "b2", E * H, true);
    m.swiglu_limit = static_cast<float>(a.num("limit")); m.swiglu_alpha = static_cast<float>(a.num("alpha"));
    View o = a.view("out");
    if (H % 32 || I % 32 || x.bytes < m.t * H * 4 || o.bytes < m.t * H * 4 || ids.bytes < size_t(m.t * m.top_k * 4) ||
        w.bytes < size_t(m.t * m.top_k * 4))
      throw Napi::RangeError::New(a.env(), "moe: a buffer is smaller than the shapes require");
    const int32_t* idp = reinterpret_cast<const int32_t*>(ids.data);
    for (int64_t i = 0; i < m.t * m.top_k; i++)
      if (idp[i] < 0 || idp[i] >= m.n_experts) throw Napi::RangeError::New(a.env(), "moe: expert id out of range");
    m.x = reinterpret_cast<const float*>(x.data); m.expert_ids = idp; m.expert_w = reinterpret_cast<const float*>(w.data);
    m.w1_blocks = w1b.data; m.w1_scales = w1s.data; m.w2_blocks = w2b.data; m.w2_scales = w2s.data;
    m.out = reinterpret_cast<float*>(o.data);
  }
  void run() override { kernels().moe(m); }
};

// unembedTopk(x, t, dim, w bf16, rows, k, logits|null, topIds|null, topVals|null)
struct UnembedOp : Op {
  TopkArgs u;
  void parse(Args& a) override {
    View x = a.view("x"); u.t = a.i64("t"); u.w.k = a.i64("dim");
    View w = a.view("weight"); u.w.rows = a.i64("rows"); u.k = static_cast<int>(a.num("k"));
    View l = a.view("logits", true), ti = a.view("topIds", true), tv = a.view("topVals", true);
    const size_t T = u.t, V = u.w.rows, K = u.w.k;
    if (x.bytes < T * K * 4 || w.bytes < V * K * 2 || (l.data && l.bytes < T * V * 4) ||
        (ti.data && ti.bytes < T * u.k * 4) || (tv.data && tv.bytes < T * u.k * 4) || u.k < 1)
      throw Napi::RangeError::New(a.env(), "unembedTopk: a buffer is smaller than the shapes require");
    u.x = reinterpret_cast<const float*>(x.data); u.w.format = kWBF16; u.w.data = w.data;
    u.logits = reinterpret_cast<float*>(l.data); u.top_ids = reinterpret_cast<int32_t*>(ti.data);
    u.top_vals = reinterpret_cast<float*>(tv.data);
  }
  void run() override { kernels().unembed_topk(u); }
};

// embed(table bf16, dim, ids, t, out)
struct EmbedOp : Op {
  const uint8_t* tab; int64_t dim, t; const int32_t* ids; float* out;
  void parse(Args& a) override {
    View tv = a.view("table"); dim = a.i64("dim"); View iv = a.view("ids"); t = a.i64("t"); View o = a.view("out");
    if (iv.bytes < size_t(t * 4) || o.bytes < size_t(t * dim * 4)) throw Napi::RangeError::New(a.env(), "embed: buffer too small");
    ids = reinterpret_cast<const int32_t*>(iv.data);
    for (int64_t i = 0; i < t; i++)
      if (ids[i] < 0 || size_t(ids[i] + 1) * dim * 2 > tv.bytes) throw Napi::RangeError::New(a.env(), "embed: id out of range");
    tab = tv.data; out = reinterpret_cast<float*>(o.data);
  }
  void run() override { embed_rows(tab, dim, ids, t, out); }
};

}  // namespace

void register_ops(Napi::Env env, Napi::Object exports) {
#define GPTOSS_OP(name, T)                                             \
  exports.Set(name "Sync", Napi::Function::New(env, run_sync<T>, name "Sync")); \
  exports.Set(name, Napi::Function::New(env, run_async<T>, name));
  GPTOSS_OP("matmul", MatmulOp)
  GPTOSS_OP("rmsnorm", RmsnormOp)
  GPTOSS_OP("rope", RopeOp)
  GPTOSS_OP("attention", AttentionOp)
  GPTOSS_OP("routerTopk", RouterOp)
  GPTOSS_OP("moe", MoeOp)
  GPTOSS_OP("unembedTopk", UnembedOp)
  GPTOSS_OP("embed", EmbedOp)
#undef GPTOSS_OP
}

}  // namespace gptoss
