// Run-time CPU feature detection (cpuid + xgetbv), so one binary serves every x86-64 machine.
#pragma once
#include <string>

namespace gptoss {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false, avx512vbmi = false;
  bool has_avx2() const { return avx2 && fma; }
  bool has_avx512() const { return avx512f && avx512bw && avx512vl; }
  std::string describe() const;
};

const CpuFeatures& cpu_features();

}  // namespace gptoss
