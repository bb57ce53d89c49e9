// The fork-join thread pool every kernel splits its work over, and how work is shared out.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "common.h"

namespace ulmfit {

/**
 * A fork-join pool: `run(fn)` calls fn(0) on the caller's thread and fn(1..size-1) on the pool's
 * threads, and returns when all have returned. Idle threads spin briefly (a training step calls
 * hundreds of matmuls with little in between), then sleep on the generation counter.
 */
class Pool {
 public:
  explicit Pool(int size) { resize(size); }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() { stop(); }

  int size() const { return static_cast<int>(threads_.size()) + 1; }

  /** Restarts the pool with `size` threads, the caller included (threads.cc). */
  void resize(int size);

  /** fn(0 .. parts-1), part 0 on the caller's thread; with one part no other thread wakes. */
  void run(int parts, const std::function<void(int)>& fn) {
    if (threads_.empty() || parts <= 1) {
      fn(0);
      return;
    }
    job_ = &fn;
    pending_.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    // The other threads run `fn` (which lives in the caller's frame) until they are done: wait for
    // them even when part 0 throws, then pass the exception on.
    std::exception_ptr failure;
    try {
      fn(0);
    } catch (...) {
      failure = std::current_exception();
    }
    for (int spins = 1; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      relax();
      // A pool thread descheduled by an oversubscribed machine: give it the core.
      if ((spins & 1023) == 0) std::this_thread::yield();
    }
    if (failure) std::rethrow_exception(failure);
  }

 private:
  static void relax() {
#if ULMFIT_X64
    _mm_pause();
#else
    std::this_thread::yield();
#endif
  }

  /** A pool thread's loop: wait for the next generation, run its part, report (threads.cc). */
  void work(int id, uint64_t seen);
  void stop();

  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  const std::function<void(int)>* job_ = nullptr;
};

/** How many of the pool's threads a call of `work` operations uses. */
inline int partsFor(const Pool& pool, double work) {
  return static_cast<int>(std::max(1.0, std::min(static_cast<double>(pool.size()), std::floor(work / PARALLEL_MIN_MACS))));
}

/** A part of [0, count) for participant `id` of `parts`, in multiples of `unit`. */
inline std::pair<int, int> share(int count, int unit, int id, int parts) {
  const int units = (count + unit - 1) / unit;
  const int begin = static_cast<int>(static_cast<int64_t>(units) * id / parts) * unit;
  const int end = static_cast<int>(static_cast<int64_t>(units) * (id + 1) / parts) * unit;
  return {std::min(begin, count), std::min(end, count)};
}

/** Splits rows [0, rows) over the pool's threads (at most one per 2^18 of `work`): fn(r0, r1) per part. */
template <typename RowsFn>
void runRows(Pool& pool, int rows, double work, RowsFn&& fn) {
  const int parts = partsFor(pool, work);
  pool.run(parts, [&](int id) {
    if (id >= parts) return;
    auto [r0, r1] = share(rows, 1, id, parts);
    if (r0 < r1) fn(r0, r1);
  });
}

/** How evenly `units` split over `parts` (1: perfectly). */
inline double balance(int units, int parts) {
  const int most = (units + parts - 1) / parts;
  return static_cast<double>(units) / (static_cast<double>(most) * parts);
}

}  // namespace ulmfit
