// Module entry: ISA / thread control plus the kernel and model bindings.
#include <napi.h>

#include "cpu-features.h"
#include "dispatch.h"
#include "op-profile.h"
#include "ops.h"
#include "thread-pool.h"

namespace gptoss {
namespace {

Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kernels().name); }

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setIsa(name: string)");
  std::string err = set_isa(info[0].As<Napi::String>().Utf8Value());
  if (!err.empty()) throw Napi::Error::New(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  auto v = supported_isas();
  Napi::Array a = Napi::Array::New(info.Env(), v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

Napi::Value CpuFeaturesJs(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), cpu_features().describe());
}

// 'int8' only where it takes effect: the setting is on and the AVX-512 variant (with VNNI) is the one in use.
Napi::Value PrefillPrecision(const Napi::CallbackInfo& info) {
  const bool i8 = prefill_int8() && std::string(kernels().name) == "avx512" && cpu_features().avx512vnni;
  return Napi::String::New(info.Env(), prefill_bf16() ? "bf16" : i8 ? "int8" : "fp32");
}

Napi::Value SetPrefillPrecision(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setPrefillPrecision('fp32' | 'bf16' | 'int8')");
  const std::string v = info[0].As<Napi::String>().Utf8Value();
  if (v != "fp32" && v != "bf16" && v != "int8")
    throw Napi::TypeError::New(info.Env(), "setPrefillPrecision: expected 'fp32', 'bf16' or 'int8', got '" + v + "'");
  if (v == "int8")
    set_prefill_int8(true);
  else
    set_prefill_bf16(v == "bf16");
  return info.Env().Undefined();
}

// 'int8' only where it takes effect: the setting is on and the AVX-512 variant (with VNNI) is the one in use.
Napi::Value DecodePrecision(const Napi::CallbackInfo& info) {
  const bool on = decode_int8() && std::string(kernels().name) == "avx512" && cpu_features().avx512vnni;
  return Napi::String::New(info.Env(), on ? "int8" : "fp32");
}

Napi::Value SetDecodePrecision(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "setDecodePrecision('fp32' | 'int8')");
  const std::string v = info[0].As<Napi::String>().Utf8Value();
  if (v != "fp32" && v != "int8") throw Napi::TypeError::New(info.Env(), "setDecodePrecision: expected 'fp32' or 'int8', got '" + v + "'");
  set_decode_int8(v == "int8");
  return info.Env().Undefined();
}

// Whether the int16 MXFP4 prefill GEMM is in effect: the setting is on and the AVX-512 variant (with VNNI) is in use.
Napi::Value PrefillInt16(const Napi::CallbackInfo& info) {
  const bool on = prefill_int16() && std::string(kernels().name) == "avx512" && cpu_features().avx512vnni;
  return Napi::Boolean::New(info.Env(), on);
}

Napi::Value SetPrefillInt16(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setPrefillInt16(on: boolean)");
  set_prefill_int16(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// Whether the int16 MXFP4 decode GEMV is in effect: on, not overridden by int8 decode, AVX-512 variant with VNNI.
Napi::Value DecodeInt16(const Napi::CallbackInfo& info) {
  const bool on = decode_int16() && !decode_int8() && std::string(kernels().name) == "avx512" && cpu_features().avx512vnni;
  return Napi::Boolean::New(info.Env(), on);
}

Napi::Value SetDecodeInt16(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setDecodeInt16(on: boolean)");
  set_decode_int16(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// { op name: milliseconds } since the last reset (see op-profile.h); reset(true) clears the totals after reading.
Napi::Value OpProfile(const Napi::CallbackInfo& info) {
  const bool reset = info.Length() > 0 && info[0].IsBoolean() && info[0].As<Napi::Boolean>().Value();
  double ms[kOpCount];
  op_profile_read(ms, reset);
  Napi::Object o = Napi::Object::New(info.Env());
  for (int i = 0; i < kOpCount; i++) o.Set(kProfOpNames[i], ms[i]);
  return o;
}

Napi::Value SetOpProfiling(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Napi::TypeError::New(info.Env(), "setOpProfiling(on: boolean)");
  set_op_profiling(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ThreadPool::instance().size()); }

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "setThreads(n: number)");
  ThreadPool::instance().resize(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

}  // namespace
}  // namespace gptoss

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  using namespace gptoss;
  exports.Set("isa", Napi::Function::New(env, Isa, "isa"));
  exports.Set("setIsa", Napi::Function::New(env, SetIsa, "setIsa"));
  exports.Set("supportedIsas", Napi::Function::New(env, SupportedIsas, "supportedIsas"));
  exports.Set("cpuFeatures", Napi::Function::New(env, CpuFeaturesJs, "cpuFeatures"));
  exports.Set("prefillPrecision", Napi::Function::New(env, PrefillPrecision, "prefillPrecision"));
  exports.Set("setPrefillPrecision", Napi::Function::New(env, SetPrefillPrecision, "setPrefillPrecision"));
  exports.Set("decodePrecision", Napi::Function::New(env, DecodePrecision, "decodePrecision"));
  exports.Set("setDecodePrecision", Napi::Function::New(env, SetDecodePrecision, "setDecodePrecision"));
  exports.Set("prefillInt16", Napi::Function::New(env, PrefillInt16, "prefillInt16"));
  exports.Set("setPrefillInt16", Napi::Function::New(env, SetPrefillInt16, "setPrefillInt16"));
  exports.Set("decodeInt16", Napi::Function::New(env, DecodeInt16, "decodeInt16"));
  exports.Set("setDecodeInt16", Napi::Function::New(env, SetDecodeInt16, "setDecodeInt16"));
  exports.Set("opProfile", Napi::Function::New(env, OpProfile, "opProfile"));
  exports.Set("setOpProfiling", Napi::Function::New(env, SetOpProfiling, "setOpProfiling"));
  exports.Set("threads", Napi::Function::New(env, Threads, "threads"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  register_ops(env, exports);
  register_model(env, exports);
  return exports;
}

NODE_API_MODULE(gptoss_kernels, InitModule)
