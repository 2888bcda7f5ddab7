#include "mapped-file.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gptoss {

std::string map_file(const std::string& path, bool populate, Mapping* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("cannot open ") + path + ": " + std::strerror(errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    std::string e = std::string("cannot stat ") + path + ": " + std::strerror(errno);
    ::close(fd);
    return e;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {
    ::close(fd);
    out->addr = nullptr;
    out->size = 0;
    return "";
  }
  int flags = MAP_SHARED;
#ifdef MAP_POPULATE
  if (populate) flags |= MAP_POPULATE;
#endif
  void* p = ::mmap(nullptr, size, PROT_READ, flags, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (p == MAP_FAILED) return std::string("cannot mmap ") + path + ": " + std::strerror(errno);
  out->addr = p;
  out->size = size;
  return "";
}

std::string alloc_for_file(const std::string& path, Mapping* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::string("cannot stat ") + path + ": " + std::strerror(errno);
  const size_t size = static_cast<size_t>(st.st_size);
  out->path = path;
  out->anonymous = true;
  out->size = size;
  if (size == 0) return "";
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return std::string("cannot allocate ") + std::to_string(size) + " bytes: " + std::strerror(errno);
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);
#endif
  out->addr = p;
  return "";
}

std::string read_into(const Mapping& m) {
  int fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::string("cannot open ") + m.path + ": " + std::strerror(errno);
  const size_t chunk = size_t(64) << 20;
  size_t done = 0;
  while (done < m.size) {
    const size_t n = std::min(chunk, m.size - done);
    ssize_t r = ::pread(fd, static_cast<char*>(m.addr) + done, n, static_cast<off_t>(done));
    if (r <= 0) {
      std::string e = std::string("cannot read ") + m.path + ": " + (r < 0 ? std::strerror(errno) : "unexpected end of file");
      ::close(fd);
      return e;
    }
    ::posix_fadvise(fd, static_cast<off_t>(done), r, POSIX_FADV_DONTNEED);
    done += static_cast<size_t>(r);
  }
  ::close(fd);
  return "";
}

void unmap(const Mapping& m) {
  if (m.addr) ::munmap(m.addr, m.size);
}

void advise_willneed(void* addr, size_t size) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t a = reinterpret_cast<uintptr_t>(addr) & ~(page - 1);
  size += reinterpret_cast<uintptr_t>(addr) - a;
  ::madvise(reinterpret_cast<void*>(a), size, MADV_WILLNEED);
}

void populate(const Mapping& m) {
  if (!m.addr || m.anonymous) return;
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
  if (::madvise(m.addr, m.size, MADV_POPULATE_READ) == 0) return;
  // Older kernels: touch one byte per page.
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  volatile const uint8_t* p = static_cast<const uint8_t*>(m.addr);
  uint8_t sink = 0;
  for (size_t i = 0; i < m.size; i += page) sink ^= p[i];
  (void)sink;
}

}  // namespace gptoss
