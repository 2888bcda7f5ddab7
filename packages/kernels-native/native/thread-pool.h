// A persistent pool: N-1 workers plus the calling thread run `parallel_for` tasks. Workers spin briefly between
// jobs (decode issues a few hundred short jobs per token, and a futex wake-up costs as much as a small job) and
// then sleep, so an idle model costs no CPU.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace gptoss {

class ThreadPool {
 public:
  using TaskFn = void (*)(void* ctx, int64_t task, int thread);

  static ThreadPool& instance();
  int size() const { return n_threads_; }
  // Resizes the pool (0 = machine default or GPTOSS_THREADS). Not safe while a job runs.
  void resize(int n);
  void run(int64_t n_tasks, TaskFn fn, void* ctx);

  template <class F>
  void parallel_for(int64_t n_tasks, F&& f) {
    if (n_tasks <= 0) return;
    if (n_tasks == 1 || n_threads_ == 1) {
      for (int64_t i = 0; i < n_tasks; i++) f(i, 0);
      return;
    }
    run(n_tasks, [](void* c, int64_t i, int th) { (*static_cast<F*>(c))(i, th); }, &f);
  }

  static int default_threads();

 private:
  ThreadPool();
  ~ThreadPool();
  void stop_workers();
  void start_workers(int n);
  void worker_loop(int id, uint64_t seen);
  void work(int id);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::mutex run_mu_;  // one job at a time (several models/ops may be called from different libuv threads)
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> active_{0};
  std::atomic<bool> quit_{false};
  int64_t n_tasks_ = 0;
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
};

}  // namespace gptoss
