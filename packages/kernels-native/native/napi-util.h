// Argument parsing shared by the bindings, and the one pattern every kernel binding follows: parse the arguments
// into a plain struct on the JS thread, then run it either right away (sync variant, for tests and small inputs)
// or on a libuv worker thread behind a Promise (async variant), keeping the JS buffers alive until it finishes.
#pragma once
#include <napi.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace gptoss {

struct View {
  uint8_t* data = nullptr;
  size_t bytes = 0;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, std::vector<Napi::ObjectReference>* keep) : info_(info), keep_(keep) {}

  View view(const char* what, bool optional = false) {
    Napi::Value v = info_[i_++];
    if (optional && (v.IsNull() || v.IsUndefined())) return {};
    View out;
    if (v.IsTypedArray()) {
      auto ta = v.As<Napi::TypedArray>();
      out.data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
      out.bytes = ta.ByteLength();
    } else if (v.IsArrayBuffer()) {
      auto ab = v.As<Napi::ArrayBuffer>();
      out.data = static_cast<uint8_t*>(ab.Data());
      out.bytes = ab.ByteLength();
    } else if (v.IsDataView()) {
      auto dv = v.As<Napi::DataView>();
      out.data = static_cast<uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
      out.bytes = dv.ByteLength();
    } else {
      throw Napi::TypeError::New(info_.Env(), std::string(what) + ": expected a typed array or ArrayBuffer");
    }
    if (keep_) keep_->push_back(Napi::Persistent(v.As<Napi::Object>()));
    return out;
  }
  // A view that must hold at least `elems` elements of `elem_bytes` each.
  View need(const char* what, size_t elems, size_t elem_bytes, bool optional = false) {
    View v = view(what, optional);
    if (v.data && v.bytes < elems * elem_bytes)
      throw Napi::RangeError::New(info_.Env(), std::string(what) + ": expected at least " + std::to_string(elems * elem_bytes) +
                                                   " bytes, got " + std::to_string(v.bytes));
    return v;
  }
  double num(const char* what) {
    Napi::Value v = info_[i_++];
    if (!v.IsNumber()) throw Napi::TypeError::New(info_.Env(), std::string(what) + ": expected a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int64_t i64(const char* what) { return static_cast<int64_t>(num(what)); }
  Napi::Value raw() { return info_[i_++]; }
  void skip() { i_++; }
  Napi::Env env() const { return info_.Env(); }

 private:
  const Napi::CallbackInfo& info_;
  std::vector<Napi::ObjectReference>* keep_;
  size_t i_ = 0;
};

struct Op {
  virtual ~Op() = default;
  virtual void parse(Args& a) = 0;
  virtual void run() = 0;
  std::vector<Napi::ObjectReference> keep;
};

class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, std::unique_ptr<Op> op)
      : Napi::AsyncWorker(env, "gptoss-kernel"), op_(std::move(op)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }
  void Execute() override {
    try {
      op_->run();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  std::unique_ptr<Op> op_;
  Napi::Promise::Deferred deferred_;
};

template <class T>
Napi::Value run_sync(const Napi::CallbackInfo& info) {
  T op;
  Args a(info, nullptr);
  op.parse(a);
  try {
    op.run();
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), e.what());
  }
  return info.Env().Undefined();
}

template <class T>
Napi::Value run_async(const Napi::CallbackInfo& info) {
  auto op = std::make_unique<T>();
  Args a(info, &op->keep);
  op->parse(a);
  auto* w = new OpWorker(info.Env(), std::move(op));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace gptoss
