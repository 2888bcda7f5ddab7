#include "dispatch.h"

#include <atomic>
#include <cstdlib>

#include "cpu-features.h"

namespace gptoss {

static const KernelTable* by_name(const std::string& n) {
  const CpuFeatures& f = cpu_features();
  if (n == "scalar") return kernels_scalar();
  if (n == "avx2" && f.has_avx2()) return kernels_avx2();
  if (n == "avx512" && f.has_avx512() && f.has_avx2()) return kernels_avx512();
  return nullptr;
}

std::string best_isa() {
  const CpuFeatures& f = cpu_features();
  if (f.has_avx512() && f.has_avx2()) return "avx512";
  if (f.has_avx2()) return "avx2";
  return "scalar";
}

std::vector<std::string> supported_isas() {
  std::vector<std::string> v{"scalar"};
  if (by_name("avx2")) v.push_back("avx2");
  if (by_name("avx512")) v.push_back("avx512");
  return v;
}

static const KernelTable* initial() {
  const char* env = std::getenv("GPTOSS_CPU_ISA");
  if (env && *env) {
    // An unsupported request falls back to the best variant; the TS layer reports the mismatch.
    if (const KernelTable* t = by_name(env)) return t;
  }
  return by_name(best_isa());
}

static std::atomic<const KernelTable*> g_table{nullptr};

// Prefill activation precision: 0 = default (fp32 class), 1 = bf16, 2 = int8 (GPTOSS_CPU_PREFILL=bf16|int8).
static std::atomic<int> g_prefill_mode{-1};
static int prefill_mode() {
  int v = g_prefill_mode.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("GPTOSS_CPU_PREFILL");
    v = (e && std::string(e) == "bf16") ? 1 : (e && std::string(e) == "int8") ? 2 : 0;
    g_prefill_mode.store(v);
  }
  return v;
}
bool prefill_bf16() { return prefill_mode() == 1; }
void set_prefill_bf16(bool on) { g_prefill_mode.store(on ? 1 : 0); }
bool prefill_int8() { return prefill_mode() == 2; }
void set_prefill_int8(bool on) { g_prefill_mode.store(on ? 2 : 0); }

static std::atomic<int> g_decode_int8{-1};
bool decode_int8() {
  int v = g_decode_int8.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("GPTOSS_CPU_DECODE");
    v = (e && std::string(e) == "int8") ? 1 : 0;
    g_decode_int8.store(v);
  }
  return v == 1;
}
void set_decode_int8(bool on) { g_decode_int8.store(on ? 1 : 0); }

static std::atomic<int> g_prefill_int16{-1};
bool prefill_int16() {
  int v = g_prefill_int16.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("GPTOSS_CPU_INT16GEMM");
    v = (e && e[0] == '0') ? 0 : 1;
    g_prefill_int16.store(v);
  }
  return v == 1;
}
void set_prefill_int16(bool on) { g_prefill_int16.store(on ? 1 : 0); }

static std::atomic<int> g_decode_int16{-1};
bool decode_int16() {
  int v = g_decode_int16.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("GPTOSS_CPU_INT16GEMV");
    v = (e && e[0] == '0') ? 0 : 1;
    g_decode_int16.store(v);
  }
  return v == 1;
}
void set_decode_int16(bool on) { g_decode_int16.store(on ? 1 : 0); }

const KernelTable& kernels() {
  const KernelTable* t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = initial();
    g_table.store(t, std::memory_order_release);
  }
  return *t;
}

std::string set_isa(const std::string& name) {
  const KernelTable* t = by_name(name);
  if (!t) {
    std::string all;
    for (auto& s : supported_isas()) all += (all.empty() ? "" : ", ") + s;
    return "ISA variant \"" + name + "\" is not supported on this CPU (supported: " + all + ")";
  }
  g_table.store(t, std::memory_order_release);
  return "";
}

}  // namespace gptoss
