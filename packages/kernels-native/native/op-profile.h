// Per-op wall-time totals of the forward pass, so that bench/run.mjs can say where a prefill or decode step spends
// its time. Off by default (one relaxed atomic load per op); GPTOSS_CPU_PROFILE=1 or set_op_profiling(true) turns
// it on. Ops run one at a time (each is one parallel job), so wall time per op adds up to the step's wall time.
#pragma once
#include <chrono>
#include <cstdint>

namespace gptoss {

enum ProfOp : int {
  kOpEmbed = 0,
  kOpNorm,
  kOpQkv,
  kOpRope,
  kOpAttention,
  kOpOut,
  kOpRouter,
  kOpMoe,   // the whole MoE block; kOpMlp1 and kOpMlp2 are the parts of it spent in the expert matmuls
  kOpMlp1,
  kOpMlp2,
  kOpUnembed,
  kOpOther,  // residual adds, KV cache writes
  kOpCount
};

extern const char* const kProfOpNames[kOpCount];
bool op_profiling();
void set_op_profiling(bool on);
void op_profile_add(int op, int64_t ns);
// Totals in milliseconds since the last reset; `reset` clears them after reading.
void op_profile_read(double* ms, bool reset);

inline int64_t prof_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Adds the time from construction to destruction to `op` when profiling is on.
class ProfScope {
 public:
  explicit ProfScope(int op) : op_(op), t0_(op_profiling() ? prof_now_ns() : -1) {}
  ~ProfScope() {
    if (t0_ >= 0) op_profile_add(op_, prof_now_ns() - t0_);
  }
  ProfScope(const ProfScope&) = delete;
  ProfScope& operator=(const ProfScope&) = delete;

 private:
  int op_;
  int64_t t0_;
};

}  // namespace gptoss
