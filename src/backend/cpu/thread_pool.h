#pragma once
// A fixed set of worker threads, created once per CpuBackend, that split index ranges among
// themselves and the calling thread. A parallel_for called from inside a task runs serially
// (no nested fan-out), so ops may call each other freely.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace schwarm::cpu {

class ThreadPool {
 public:
  // n_threads counts the caller: n_threads - 1 workers are started (0: hardware threads).
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over chunks of [0, n) of at most `grain` indices, on all threads; returns
  // when every chunk is done. The first exception thrown by a chunk is rethrown here.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  // The job in flight (guarded by mu_ except the chunk counter).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::atomic<int64_t> next_{0};
  std::atomic<int> pending_{0};  // workers yet to finish the job in flight
  std::exception_ptr error_;
};

}  // namespace schwarm::cpu
