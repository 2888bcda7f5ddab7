#pragma once
#include <napi.h>

namespace gptoss {
void register_ops(Napi::Env env, Napi::Object exports);
void register_model(Napi::Env env, Napi::Object exports);
}  // namespace gptoss
