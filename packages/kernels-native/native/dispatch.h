// Picks the kernel variant: the best the CPU supports, unless GPTOSS_CPU_ISA or setIsa() asks for another.
#pragma once
#include <string>
#include <vector>

#include "common.h"

namespace gptoss {

const KernelTable& kernels();
// Returns an empty string on success, else why the variant cannot be used.
std::string set_isa(const std::string& name);
std::vector<std::string> supported_isas();
std::string best_isa();

}  // namespace gptoss
