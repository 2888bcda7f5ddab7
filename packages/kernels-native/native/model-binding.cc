// NativeModel and KvCache classes: the whole forward pass behind one Promise per prefill/decode step.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "mapped-file.h"
#include "model.h"
#include "napi-util.h"
#include "ops.h"

namespace gptoss {
namespace {

struct TensorRef {
  const uint8_t* data = nullptr;
  size_t bytes = 0;
  int dtype = kBF16;  // kBF16, kF32, or 2 for U8
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::FunctionReference* ctor;
  static Napi::Function Init(Napi::Env env);
  explicit ModelWrap(const Napi::CallbackInfo& info);
  ~ModelWrap() override { release(); }

  ModelDims dims;
  ModelWeights weights;
  bool disposed = false;

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info) { return forward(info, true); }
  Napi::Value ForwardSync(const Napi::CallbackInfo& info) { return forward(info, false); }
  Napi::Value forward(const Napi::CallbackInfo& info, bool async);
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
  Napi::Value Prefetch(const Napi::CallbackInfo& info) {
    for (auto& m : maps_) advise_willneed(m.addr, m.size);
    return info.Env().Undefined();
  }
  // Promise: faults all mapped pages in on a worker thread (the model's load time).
  Napi::Value Populate(const Napi::CallbackInfo& info) {
    struct PopulateOp : Op {
      std::vector<Mapping> maps;
      void parse(Args&) override {}
      ModelWrap* model = nullptr;
      void run() override {
        for (auto& m : maps) {
          if (m.anonymous) {
            std::string err = read_into(m);
            if (!err.empty()) throw std::runtime_error(err);
          } else {
            populate(m);
          }
        }
        model->filled_ = true;
      }
    };
    auto op = std::make_unique<PopulateOp>();
    op->maps = maps_;
    op->model = this;
    op->keep.push_back(Napi::Persistent(info.This().As<Napi::Object>()));
    auto* w = new OpWorker(info.Env(), std::move(op));
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  }
  Napi::Value MappedBytes(const Napi::CallbackInfo& info) {
    double n = 0;
    for (auto& m : maps_) n += static_cast<double>(m.size);
    return Napi::Number::New(info.Env(), n);
  }
  void release() {
    for (auto& m : maps_) unmap(m);
    maps_.clear();
    keep_.clear();
    disposed = true;
  }
  std::vector<Mapping> maps_;
  std::vector<Napi::ObjectReference> keep_;

 public:
  bool read_mode_ = false;
  bool filled_ = false;
};

class CacheWrap : public Napi::ObjectWrap<CacheWrap> {
 public:
  static Napi::FunctionReference* ctor;
  static Napi::Function Init(Napi::Env env) {
    Napi::Function f = DefineClass(env, "KvCache",
                                   {InstanceMethod("dispose", &CacheWrap::Dispose),
                                    InstanceMethod("allocatedBytes", &CacheWrap::Bytes)});
    ctor = new Napi::FunctionReference(Napi::Persistent(f));
    return f;
  }
  explicit CacheWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CacheWrap>(info) {
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsNumber())
      throw Napi::TypeError::New(info.Env(), "KvCache(model, capacity)");
    ModelWrap* m = ModelWrap::Unwrap(info[0].As<Napi::Object>());
    dims = m->dims;
    cache.capacity = info[1].As<Napi::Number>().Int64Value();
  }
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    cache = KvCache();
    disposed = true;
    return info.Env().Undefined();
  }
  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(cache.allocated) * dims.layers * 2 * dims.n_kv * dims.head_dim * 4);
  }
  ModelDims dims;
  KvCache cache;
  bool disposed = false;
};

Napi::FunctionReference* ModelWrap::ctor = nullptr;
Napi::FunctionReference* CacheWrap::ctor = nullptr;

Napi::Function ModelWrap::Init(Napi::Env env) {
  Napi::Function f = DefineClass(env, "NativeModel",
                                 {InstanceMethod("forward", &ModelWrap::Forward),
                                  InstanceMethod("forwardSync", &ModelWrap::ForwardSync),
                                  InstanceMethod("prefetch", &ModelWrap::Prefetch),
                                  InstanceMethod("mappedBytes", &ModelWrap::MappedBytes),
                                  InstanceMethod("populate", &ModelWrap::Populate),
                                  InstanceMethod("dispose", &ModelWrap::Dispose)});
  ctor = new Napi::FunctionReference(Napi::Persistent(f));
  return f;
}

double get_num(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("model dims: ") + key + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

// new NativeModel(dims, files: string[], tensors: Record<name, {file, offset, bytes, dtype} | {data, dtype}>)
ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
    throw Napi::TypeError::New(env, "NativeModel(dims, files, tensors)");
  Napi::Object d = info[0].As<Napi::Object>();
  dims.layers = static_cast<int>(get_num(d, "numHiddenLayers"));
  dims.experts = static_cast<int>(get_num(d, "numExperts"));
  dims.top_k = static_cast<int>(get_num(d, "expertsPerToken"));
  dims.vocab = static_cast<int>(get_num(d, "vocabSize"));
  dims.hidden = static_cast<int>(get_num(d, "hiddenSize"));
  dims.inter = static_cast<int>(get_num(d, "intermediateSize"));
  dims.head_dim = static_cast<int>(get_num(d, "headDim"));
  dims.n_heads = static_cast<int>(get_num(d, "numAttentionHeads"));
  dims.n_kv = static_cast<int>(get_num(d, "numKeyValueHeads"));
  dims.sliding_window = static_cast<int>(get_num(d, "slidingWindow"));
  dims.swiglu_limit = static_cast<float>(get_num(d, "swigluLimit"));
  dims.swiglu_alpha = static_cast<float>(get_num(d, "swigluAlpha"));
  dims.eps = static_cast<float>(get_num(d, "rmsNormEps"));
  dims.rope.head_dim = dims.head_dim;
  dims.rope.theta = static_cast<float>(get_num(d, "ropeTheta"));
  dims.rope.factor = static_cast<float>(get_num(d, "ropeScalingFactor"));
  dims.rope.ntk_alpha = static_cast<float>(get_num(d, "ropeNtkAlpha"));
  dims.rope.ntk_beta = static_cast<float>(get_num(d, "ropeNtkBeta"));
  dims.rope.initial_context = static_cast<float>(get_num(d, "initialContextLength"));
  if (dims.hidden % 32 || dims.inter % 32 || dims.n_kv <= 0 || dims.n_heads % dims.n_kv)
    throw Napi::RangeError::New(env, "NativeModel: hidden/intermediate sizes must be multiples of 32 and heads a multiple of KV heads");

  Napi::Array files = info[1].As<Napi::Array>();
  read_mode_ = info.Length() > 3 && info[3].IsString() && info[3].As<Napi::String>().Utf8Value() == "read";
  for (uint32_t i = 0; i < files.Length(); i++) {
    Mapping m;
    const std::string path = files.Get(i).As<Napi::String>().Utf8Value();
    std::string err = read_mode_ ? alloc_for_file(path, &m) : map_file(path, false, &m);
    if (!err.empty()) {
      release();
      throw Napi::Error::New(env, err);
    }
    maps_.push_back(m);
  }
  disposed = false;
  Napi::Object tensors = info[2].As<Napi::Object>();
  auto get = [&](const std::string& name, size_t expect_bytes, bool allow_f32) -> TensorRef {
    Napi::Value v = tensors.Get(name);
    if (!v.IsObject()) throw Napi::Error::New(env, "NativeModel: missing tensor " + name);
    Napi::Object o = v.As<Napi::Object>();
    TensorRef t;
    std::string dt = o.Get("dtype").As<Napi::String>().Utf8Value();
    t.dtype = dt == "F32" ? kF32 : dt == "BF16" ? kBF16 : 2;
    if (o.Has("data")) {
      Napi::Value dv = o.Get("data");
      auto ta = dv.As<Napi::TypedArray>();
      t.data = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      t.bytes = ta.ByteLength();
      keep_.push_back(Napi::Persistent(dv.As<Napi::Object>()));
    } else {
      const uint32_t f = o.Get("file").As<Napi::Number>().Uint32Value();
      const double off = o.Get("offset").As<Napi::Number>().DoubleValue();
      const double bytes = o.Get("bytes").As<Napi::Number>().DoubleValue();
      if (f >= maps_.size() || off + bytes > static_cast<double>(maps_[f].size))
        throw Napi::RangeError::New(env, "NativeModel: tensor " + name + " lies outside its file");
      t.data = static_cast<const uint8_t*>(maps_[f].addr) + static_cast<size_t>(off);
      t.bytes = static_cast<size_t>(bytes);
    }
    size_t need = expect_bytes;
    if (t.dtype == kF32) {
      if (!allow_f32) throw Napi::TypeError::New(env, "NativeModel: tensor " + name + " must be BF16");
      need *= 2;
    }
    if (t.bytes < need)
      throw Napi::RangeError::New(env, "NativeModel: tensor " + name + " has " + std::to_string(t.bytes) +
                                           " bytes, expected " + std::to_string(need));
    return t;
  };
  auto vec = [&](const std::string& name, size_t n, bool allow_f32) {
    TensorRef t = get(name, n * 2, allow_f32);
    Vec v;
    v.data = t.data;
    v.dtype = t.dtype == kF32 ? kF32 : kBF16;
    return v;
  };
  auto bf16w = [&](const std::string& name, int64_t rows, int64_t k) {
    TensorRef t = get(name, static_cast<size_t>(rows * k * 2), false);
    Weight w;
    w.format = kWBF16;
    w.data = t.data;
    w.rows = rows;
    w.k = k;
    return w;
  };
  auto u8 = [&](const std::string& name, size_t bytes) { return get(name, bytes, false).data; };

  const int64_t H = dims.hidden, I = dims.inter, E = dims.experts, D = dims.head_dim;
  const int64_t qkv = D * (dims.n_heads + 2 * dims.n_kv);
  weights.embedding = get("embedding.weight", static_cast<size_t>(dims.vocab) * H * 2, false).data;
  for (int l = 0; l < dims.layers; l++) {
    const std::string b = "block." + std::to_string(l) + ".";
    LayerWeights L;
    L.attn_norm = vec(b + "attn.norm.scale", H, true);
    L.qkv = bf16w(b + "attn.qkv.weight", qkv, H);
    L.qkv_b = vec(b + "attn.qkv.bias", qkv, false);
    L.sinks = vec(b + "attn.sinks", dims.n_heads, true);
    L.out = bf16w(b + "attn.out.weight", H, D * dims.n_heads);
    L.out_b = vec(b + "attn.out.bias", H, false);
    L.mlp_norm = vec(b + "mlp.norm.scale", H, true);
    L.gate = bf16w(b + "mlp.gate.weight", E, H);
    L.gate_b = vec(b + "mlp.gate.bias", E, false);
    L.w1_blocks = u8(b + "mlp.mlp1_weight.blocks", static_cast<size_t>(E * 2 * I * H / 2));
    L.w1_scales = u8(b + "mlp.mlp1_weight.scales", static_cast<size_t>(E * 2 * I * H / 32));
    L.b1 = vec(b + "mlp.mlp1_bias", E * 2 * I, false);
    L.w2_blocks = u8(b + "mlp.mlp2_weight.blocks", static_cast<size_t>(E * H * I / 2));
    L.w2_scales = u8(b + "mlp.mlp2_weight.scales", static_cast<size_t>(E * H * I / 32));
    L.b2 = vec(b + "mlp.mlp2_bias", E * H, false);
    weights.layers.push_back(L);
  }
  weights.norm = vec("norm.scale", H, true);
  weights.unembedding = bf16w("unembedding.weight", dims.vocab, H);
}

struct ForwardOp : Op {
  ModelWrap* model = nullptr;
  ForwardRequest req;
  std::vector<int32_t> tokens, positions, seq;
  void parse(Args& a) override {}
  void run() override { gptoss::forward(model->dims, model->weights, req); }
};

// forward(tokens, positions, seq, caches[], outRows, logits|null, topK, topIds|null, topVals|null)
Napi::Value ModelWrap::forward(const Napi::CallbackInfo& info, bool async) {
  Napi::Env env = info.Env();
  if (disposed) throw Napi::Error::New(env, "NativeModel: used after dispose()");
  if (read_mode_ && !filled_) throw Napi::Error::New(env, "NativeModel: weights not read yet (await populate() first)");
  auto op = std::make_unique<ForwardOp>();
  op->model = this;
  Args a(info, async ? &op->keep : nullptr);
  View tok = a.view("tokens"), pos = a.view("positions"), sq = a.view("seq");
  Napi::Value cv = a.raw();
  View rows = a.view("outRows");
  View logits = a.view("logits", true);
  const int top_k = static_cast<int>(a.num("topK"));
  View ti = a.view("topIds", true), tv = a.view("topVals", true);
  const int64_t T = static_cast<int64_t>(tok.bytes / 4);
  if (T <= 0 || pos.bytes < size_t(T * 4) || sq.bytes < size_t(T * 4) || !cv.IsArray())
    throw Napi::RangeError::New(env, "forward: tokens, positions and seq must have the same length >= 1");
  ForwardRequest& r = op->req;
  r.t = T;
  r.tokens = reinterpret_cast<const int32_t*>(tok.data);
  r.positions = reinterpret_cast<const int32_t*>(pos.data);
  r.seq = reinterpret_cast<const int32_t*>(sq.data);
  Napi::Array caches = cv.As<Napi::Array>();
  for (uint32_t i = 0; i < caches.Length(); i++) {
    Napi::Object o = caches.Get(i).As<Napi::Object>();
    CacheWrap* c = CacheWrap::Unwrap(o);
    if (c->disposed) throw Napi::Error::New(env, "forward: KvCache used after dispose()");
    r.caches.push_back(&c->cache);
    if (async) op->keep.push_back(Napi::Persistent(o));
  }
  for (int64_t i = 0; i < T; i++) {
    if (r.seq[i] < 0 || size_t(r.seq[i]) >= r.caches.size()) throw Napi::RangeError::New(env, "forward: seq index out of range");
    if (r.tokens[i] < 0 || r.tokens[i] >= dims.vocab) throw Napi::RangeError::New(env, "forward: token id out of range");
    if (r.positions[i] < 0 || r.positions[i] >= r.caches[r.seq[i]]->capacity)
      throw Napi::RangeError::New(env, "forward: position beyond the cache capacity");
  }
  const int64_t n_out = static_cast<int64_t>(rows.bytes / 4);
  const int32_t* rp = reinterpret_cast<const int32_t*>(rows.data);
  for (int64_t i = 0; i < n_out; i++) {
    if (rp[i] < 0 || rp[i] >= T) throw Napi::RangeError::New(env, "forward: outRows index out of range");
    r.out_rows.push_back(rp[i]);
  }
  if (logits.data && logits.bytes < size_t(n_out) * dims.vocab * 4) throw Napi::RangeError::New(env, "forward: logits too small");
  if (top_k > 0 && ((ti.data && ti.bytes < size_t(n_out * top_k * 4)) || (tv.data && tv.bytes < size_t(n_out * top_k * 4))))
    throw Napi::RangeError::New(env, "forward: top-k outputs too small");
  r.logits = reinterpret_cast<float*>(logits.data);
  r.top_k = top_k;
  r.top_ids = reinterpret_cast<int32_t*>(ti.data);
  r.top_vals = reinterpret_cast<float*>(tv.data);
  if (!async) {
    try {
      op->run();
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, e.what());
    }
    return env.Undefined();
  }
  op->keep.push_back(Napi::Persistent(info.This().As<Napi::Object>()));
  auto* w = new OpWorker(env, std::move(op));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace

void register_model(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeModel", ModelWrap::Init(env));
  exports.Set("KvCache", CacheWrap::Init(env));
}

}  // namespace gptoss
