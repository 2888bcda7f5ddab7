#include "op-profile.h"

#include <atomic>
#include <cstdlib>

namespace gptoss {

const char* const kProfOpNames[kOpCount] = {"embed", "rmsnorm", "qkv", "rope", "attention", "out",
                                            "router", "moe", "mlp1", "mlp2", "unembed", "other"};

namespace {
std::atomic<int> g_on{-1};
std::atomic<int64_t> g_ns[kOpCount];
}  // namespace

bool op_profiling() {
  int v = g_on.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* e = std::getenv("GPTOSS_CPU_PROFILE");
    v = (e && e[0] == '1') ? 1 : 0;
    g_on.store(v);
  }
  return v == 1;
}

void set_op_profiling(bool on) { g_on.store(on ? 1 : 0); }

void op_profile_add(int op, int64_t ns) { g_ns[op].fetch_add(ns, std::memory_order_relaxed); }

void op_profile_read(double* ms, bool reset) {
  for (int i = 0; i < kOpCount; i++) ms[i] = static_cast<double>(reset ? g_ns[i].exchange(0) : g_ns[i].load()) / 1e6;
}

}  // namespace gptoss
