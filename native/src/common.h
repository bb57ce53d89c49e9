// What every part of ulmfit's native kernels shares: the block sizes, the x86-64 switch and an
// aligned float buffer. The ABI version and the number of cache slots come from native/abi.json
// (binding.gyp passes them as ULMFIT_ABI_VERSION and ULMFIT_CACHE_SLOTS; src/compute/native.ts
// reads the same file), so the addon and its loader cannot disagree on them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ULMFIT_X64 1
/** Marks a function compiled for AVX2 and FMA (x86-64 only; callers check cpuSupported first). */
#define ULMFIT_AVX2 __attribute__((target("avx2,fma")))
#else
#define ULMFIT_X64 0
#define ULMFIT_AVX2
#endif

#if !defined(ULMFIT_ABI_VERSION) || !defined(ULMFIT_CACHE_SLOTS)
#error "build through binding.gyp: it defines ULMFIT_ABI_VERSION and ULMFIT_CACHE_SLOTS from native/abi.json"
#endif

namespace ulmfit {

/** Rows per micro-kernel call, and columns per packed panel (two 8-float registers). */
constexpr int MR = 6;
constexpr int NR = 16;
/** The k range one micro-kernel call covers (256): a panel slice of KC x NR floats stays in L1. */
extern int KC;
/** Rows of A per block (96): MC x KC floats (96 KB) stay in L2 while the panels pass. */
extern int MC;
/** Panels per block of columns (64): 64 x 16 columns x KC rows is 1 MB of packed B. */
extern int NC_PANELS;
/**
 * Work per thread: a call splits into at most one part per this many multiply-adds (or element
 * operations), so small calls stay on the calling thread (waking a thread costs ~10 us) and
 * many-core machines do not wake every core for a small matmul.
 */
constexpr double PARALLEL_MIN_MACS = 1 << 18;

/** Packed weights kept per instance (the caller picks the slot): native/abi.json cacheSlots. */
constexpr int CACHE_SLOTS = ULMFIT_CACHE_SLOTS;
/**
 * The calling convention src/compute/native.ts expects (native/abi.json version, read by both):
 * raised whenever an export's arguments change, so a stale build is not loaded (the wasm kernels
 * run instead).
 */
constexpr int ABI_VERSION = ULMFIT_ABI_VERSION;

/** Float storage aligned for AVX loads, grown on demand, never shrunk. */
class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data_); }
  float* reserve(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (data_ == nullptr) throw std::bad_alloc();
      capacity_ = floats;
    }
    return data_;
  }
  float* data() const { return data_; }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

/** Whether this CPU runs the kernels (AVX2 and FMA on x86-64). */
bool cpuSupported();

}  // namespace ulmfit
