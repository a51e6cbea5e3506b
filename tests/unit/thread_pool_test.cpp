// The CPU backend's thread pool: every index of a job is handed out exactly once, in chunks that
// are whole multiples of the grain (guided: large first, single grains last), from every thread;
// a chunk's exception reaches the caller (the pool still usable); a nested call runs serially;
// jobs follow each other, back to back and after the workers went to sleep.
#include "backend/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace schwarm::cpu {
namespace {

struct Chunk {
  int64_t begin, end;
};

// Runs one job and returns its chunks (in the order they were recorded).
std::vector<Chunk> chunks_of(ThreadPool& pool, int64_t n, int64_t grain, std::vector<int>* hits = nullptr) {
  std::mutex mu;
  std::vector<Chunk> out;
  pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
    std::lock_guard lock(mu);
    out.push_back({b, e});
    if (hits) {
      for (int64_t i = b; i < e; ++i) ++(*hits)[static_cast<size_t>(i)];
    }
  });
  return out;
}

TEST(ThreadPool, EveryIndexOnceInWholeGrains) {
  std::mt19937 rng(std::random_device{}());
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int rep = 0; rep < 50; ++rep) {
      const int64_t n = std::uniform_int_distribution<int64_t>(1, 5000)(rng);
      const int64_t grain = std::uniform_int_distribution<int64_t>(1, 64)(rng);
      std::vector<int> hits(static_cast<size_t>(n), 0);
      const std::vector<Chunk> chunks = chunks_of(pool, n, grain, &hits);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)], 1) << "index " << i << " of " << n;
      for (const Chunk& c : chunks) {
        ASSERT_LT(c.begin, c.end);
        EXPECT_EQ(c.begin % grain, 0) << "chunk [" << c.begin << ", " << c.end << ") grain " << grain;
        if (c.end != n) {
          EXPECT_EQ((c.end - c.begin) % grain, 0);
        }
      }
    }
  }
}

TEST(ThreadPool, GuidedChunksShrinkToSingleGrains) {
  ThreadPool pool(2);
  const int64_t n = 1000;
  std::vector<Chunk> chunks = chunks_of(pool, n, 1);
  std::sort(chunks.begin(), chunks.end(), [](const Chunk& a, const Chunk& b) { return a.begin < b.begin; });
  // The first chunk is a quarter of the job (2 threads: 1/(2 x 2) of what is left), far fewer
  // chunks than items, and single items among the last ones.
  EXPECT_EQ(chunks.front().begin, 0);
  EXPECT_EQ(chunks.front().end, n / 4);
  EXPECT_LT(chunks.size(), static_cast<size_t>(n / 10));
  int64_t smallest = n;
  for (const Chunk& c : chunks) smallest = std::min(smallest, c.end - c.begin);
  EXPECT_EQ(smallest, 1);
}

TEST(ThreadPool, AllThreadsTakePart) {
  ThreadPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<bool> release{false};
  // The first chunk blocks until another thread has taken one, so both must be running.
  pool.parallel_for(64, 1, [&](int64_t, int64_t) {
    {
      std::lock_guard lock(mu);
      ids.insert(std::this_thread::get_id());
      if (ids.size() >= 2) release = true;
    }
    while (!release) std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ThreadPool, ExceptionReachesCaller) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(100, 1,
                                 [](int64_t b, int64_t e) {
                                   if (b <= 57 && 57 < e) throw std::runtime_error("item 57");
                                 }),
               std::runtime_error);
  // The pool still works after it.
  std::vector<int> hits(300, 0);
  chunks_of(pool, 300, 3, &hits);
  for (int h : hits) EXPECT_EQ(h, 1);
}

TEST(ThreadPool, NestedCallRunsSerially) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 80);
}

// Workers and caller spin briefly before sleeping: jobs back to back (caught while spinning) and
// jobs after a pause longer than the spin (workers asleep on the condition variable) both run
// every index exactly once.
TEST(ThreadPool, JobsBackToBackAndAfterSleeping) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int rep = 0; rep < 2000; ++rep)
    pool.parallel_for(17, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum += i;
    });
  EXPECT_EQ(sum.load(), 2000 * (16 * 17 / 2));
  for (int rep = 0; rep < 3; ++rep) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pool.parallel_for(8, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  }
  EXPECT_EQ(sum.load(), 2000 * (16 * 17 / 2) + 3 * 8);
}

}  // namespace
}  // namespace schwarm::cpu
