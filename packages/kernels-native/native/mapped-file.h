// Read-only memory maps of checkpoint files: the model reads weights in place from the page cache, so they are
// neither copied into the JS heap nor duplicated in native memory.
#pragma once
#include <cstddef>
#include <string>

namespace gptoss {

struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
};

// Returns an empty string on success, else the reason (errno text).
std::string map_file(const std::string& path, bool populate, Mapping* out);
void unmap(const Mapping& m);
// Asks the kernel to read a range ahead (MADV_WILLNEED); best effort.
void advise_willneed(void* addr, size_t size);
// Faults every page of the mapping in (reading from disk where needed), so that later steps take no page faults.
void populate(const Mapping& m);

}  // namespace gptoss
