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

  // Calls fn(begin, end) over chunks of [0, n), on all threads; returns when every chunk is done.
  // Chunks are whole multiples of `grain` indices (the last one may be short), guided: a thread
  // takes a 1/(2 x threads) share of what is left, at least `grain`, so a job of many small items
  // costs few atomic adds and each thread reads long contiguous runs, while the last chunks are
  // single grains for balance. The first exception thrown by a chunk is rethrown here.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void worker_loop();
  void run_chunks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  // Each counter on a cache line of its own: both threads take chunks from next_ with an atomic
  // add while a waiting worker polls generation_, and sharing one line made every chunk's add a
  // transfer of that line (the add was 1.9 % of a decode profile).
  alignas(64) std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  // The job in flight (guarded by mu_ except the counters; read-only while it runs).
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::exception_ptr error_;
  alignas(64) std::atomic<int64_t> next_{0};
  alignas(64) std::atomic<int> pending_{0};  // workers yet to finish the job in flight
};

}  // namespace schwarm::cpu
