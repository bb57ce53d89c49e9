// The thread pool's thread side (threads.h): starting and stopping its threads, and their loop.
#include "threads.h"

#include <exception>

namespace ulmfit {

void Pool::resize(int size) {
  size = std::max(1, size);
  if (size == this->size()) return;
  stop();
  stopping_.store(false);
  uint64_t start = generation_.load();
  // A failed thread creation (a container's thread limit) leaves the pool with the threads made
  // so far; the caller turns the exception into a JS error.
  for (int id = 1; id < size; ++id) threads_.emplace_back([this, id, start] { work(id, start); });
}

void Pool::work(int id, uint64_t seen) {
  for (;;) {
    auto spinUntil = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    for (int spins = 0; generation_.load(std::memory_order_acquire) == seen; ++spins) {
      relax();
      if ((spins & 255) == 255 && std::chrono::steady_clock::now() > spinUntil) {
        generation_.wait(seen, std::memory_order_acquire);
      }
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stopping_.load(std::memory_order_acquire)) return;
    (*job_)(id);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

void Pool::stop() {
  if (threads_.empty()) return;
  stopping_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace ulmfit
