#include "thread-pool.h"

#include <chrono>
#include <cstdlib>
#include <immintrin.h>

namespace gptoss {

ThreadPool& ThreadPool::instance() {
  static ThreadPool* pool = new ThreadPool();  // leaked on purpose: no join at process exit
  return *pool;
}

int ThreadPool::default_threads() {
  const char* env = std::getenv("GPTOSS_THREADS");
  if (env && *env) {
    int n = std::atoi(env);
    if (n > 0) return n > 256 ? 256 : n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc == 0 ? 1 : static_cast<int>(hc);
}

ThreadPool::ThreadPool() { start_workers(default_threads()); }
ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::resize(int n) {
  if (n <= 0) n = default_threads();
  std::lock_guard<std::mutex> lk(run_mu_);
  if (n == n_threads_) return;
  stop_workers();
  start_workers(n);
}

void ThreadPool::start_workers(int n) {
  quit_ = false;
  n_threads_ = n;
  // The generation is read here, not in the new thread: a job issued before the thread gets scheduled must still
  // count as new for it.
  const uint64_t g0 = generation_.load();
  for (int i = 1; i < n; i++) workers_.emplace_back([this, i, g0] { worker_loop(i, g0); });
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    quit_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  n_threads_ = 1;
}

void ThreadPool::work(int id) {
  for (;;) {
    int64_t i = next_.fetch_add(1, std::memory_order_relaxed);
    if (i >= n_tasks_) break;
    fn_(ctx_, i, id);
  }
}

void ThreadPool::worker_loop(int id, uint64_t seen) {
  for (;;) {
    // Spin ~50 us before sleeping: short enough not to burn a shared core, long enough to catch the next job
    // of a decode step.
    auto t0 = std::chrono::steady_clock::now();
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen) {
      _mm_pause();
      if (++spins % 256 == 0 &&
          std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(50)) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return generation_.load() != seen; });
        break;
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (quit_) return;
    work(id);
    active_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(int64_t n_tasks, TaskFn fn, void* ctx) {
  std::lock_guard<std::mutex> guard(run_mu_);
  n_tasks_ = n_tasks;
  fn_ = fn;
  ctx_ = ctx;
  next_.store(0, std::memory_order_relaxed);
  active_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  work(0);
  // A worker may have been preempted (the cores are shared), so yield instead of spinning hard.
  for (int spins = 0; active_.load(std::memory_order_acquire) != 0; spins++) {
    if (spins < 2048) _mm_pause(); else std::this_thread::yield();
  }
}

}  // namespace gptoss
