// The CPU backend's thread pool: one job at a time, chunks claimed from an atomic counter.
// Decode runs a few hundred short jobs per token (tens of microseconds each), so both sides spin
// briefly before sleeping: a worker polls for the next job and the caller for the job's end,
// which saves the futex wake-up (tens of microseconds) on every job; past the spin they block on
// the condition variables, so an idle pool costs nothing.
#include "backend/cpu/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SCHWARM_CPU_RELAX() _mm_pause()
#else
#define SCHWARM_CPU_RELAX() ((void)0)
#endif

namespace schwarm::cpu {

namespace {
thread_local bool in_pool_task = false;
// Polls before blocking: ~100 microseconds of pause instructions on current x86 cores.
constexpr int kSpins = 1 << 12;
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_chunks() {
  in_pool_task = true;
  const int64_t share = 2 * static_cast<int64_t>(size());
  for (;;) {
    // The chunk's size from a relaxed look at what is left: a stale value only changes the size.
    const int64_t left = n_ - next_.load(std::memory_order_relaxed);
    const int64_t take = std::max<int64_t>(1, left / share / grain_) * grain_;
    const int64_t begin = next_.fetch_add(take);
    if (begin >= n_) break;
    try {
      (*fn_)(begin, std::min(n_, begin + take));
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_);  // abandon the rest
    }
  }
  in_pool_task = false;
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    bool ready = false;
    for (int i = 0; i < kSpins && !ready; ++i) {
      ready = stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
      if (!ready) SCHWARM_CPU_RELAX();
    }
    if (!ready) {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunks();
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mu_);  // the caller may be between its predicate check and its wait
      done_.notify_all();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (in_pool_task || workers_.empty() || n <= grain) {
    for (int64_t b = 0; b < n; b += grain) fn(b, std::min(n, b + grain));
    return;
  }
  {
    std::lock_guard lock(mu_);
    fn_ = &fn;
    n_ = n;
    grain_ = grain;
    next_.store(0);
    error_ = nullptr;
    pending_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunks();
  // Every worker takes part in every job (if only to find no chunk left), so the job's fields
  // are never rewritten while a worker may still read them.
  for (int i = 0; i < kSpins && pending_.load(std::memory_order_acquire) != 0; ++i) SCHWARM_CPU_RELAX();
  std::exception_ptr err;
  {
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    err = error_;
    fn_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace schwarm::cpu
