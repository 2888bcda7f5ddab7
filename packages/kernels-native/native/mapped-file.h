// Read-only memory maps of checkpoint files: the model reads weights in place from the page cache, so they are
// neither copied into the JS heap nor duplicated in native memory.
#pragma once
#include <cstddef>
#include <string>

namespace gptoss {

struct Mapping {
  void* addr = nullptr;
  size_t size = 0;
  std::string path;       // the file (read mode fills the memory from it)
  bool anonymous = false; // read mode: private memory on 2 MiB pages, filled by read_into()
};

// Returns an empty string on success, else the reason (errno text).
std::string map_file(const std::string& path, bool populate, Mapping* out);
void unmap(const Mapping& m);
// Read mode: anonymous memory of the file's size, backed by transparent huge pages where the kernel allows it
// (fewer TLB misses, and hardware prefetchers are not stopped at every 4 KiB page boundary).
std::string alloc_for_file(const std::string& path, Mapping* out);
// Fills an anonymous mapping from its file, dropping the file's page-cache copy as it goes (one copy in RAM).
std::string read_into(const Mapping& m);
// Asks the kernel to read a range ahead (MADV_WILLNEED); best effort.
void advise_willneed(void* addr, size_t size);
// Faults every page of the mapping in (reading from disk where needed), so that later steps take no page faults.
void populate(const Mapping& m);

}  // namespace gptoss
