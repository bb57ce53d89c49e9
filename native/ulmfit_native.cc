// ulmfit's native kernels: a float32 matrix multiply with 256-bit AVX2 FMA, run on tensors that
// live in the TF.js wasm backend's memory (the caller passes that memory's ArrayBuffer and byte
// offsets into it, so nothing is copied), split over a small pool of threads.
//
// Why native: WebAssembly SIMD is 128 bits wide, so the best wasm kernel does half the
// multiply-adds per cycle that these cores can (docs/speed-benchmark.md). Where this addon does
// not build or the CPU lacks AVX2/FMA, ulmfit keeps its wasm kernels (src/wasm/native.ts).
//
// The result of every element is the same whatever the thread count: threads split the output
// into disjoint blocks, and each element's sum runs over k in the same order (blocks of kc, each
// block's FMA chain added to the running total).
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ULMFIT_X64 1
#else
#define ULMFIT_X64 0
#endif

namespace {

/** Rows per micro-kernel call, and columns per packed panel (two 8-float registers). */
constexpr int MR = 6;
constexpr int NR = 16;
/** The k range one micro-kernel call covers: a panel slice of KC x NR floats stays in L1. */
int KC = 256;
/** Rows of A per block: MC x KC floats (96 KB) stay in L2 while the panels pass. */
int MC = 96;
/** Panels per block of columns: 64 x 16 columns x KC rows is 1 MB of packed B. */
int NC_PANELS = 64;
/**
 * Work per thread: a call splits into at most one part per this many multiply-adds (or element
 * operations), so small calls stay on the calling thread (waking a thread costs ~10 us) and
 * many-core machines do not wake every core for a small matmul.
 */
constexpr double PARALLEL_MIN_MACS = 1 << 18;

/** Packed weights kept per instance (the caller picks the slot). */
constexpr int CACHE_SLOTS = 8;
/**
 * The calling convention src/wasm/native.ts expects (NATIVE_ABI_VERSION there): raised whenever an
 * export's arguments change, so a stale build is not loaded (the wasm kernels run instead).
 */
constexpr int ABI_VERSION = 4;

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

  void resize(int size) {
    size = std::max(1, size);
    if (size == this->size()) return;
    stop();
    stopping_.store(false);
    uint64_t start = generation_.load();
    // A failed thread creation (a container's thread limit) leaves the pool with the threads made
    // so far; the caller turns the exception into a JS error.
    for (int id = 1; id < size; ++id) threads_.emplace_back([this, id, start] { work(id, start); });
  }

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

  void work(int id, uint64_t seen) {
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

  void stop() {
    if (threads_.empty()) return;
    stopping_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

  std::vector<std::thread> threads_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stopping_{false};
  const std::function<void(int)>* job_ = nullptr;
};

/** How many of the pool's threads a call of `work` operations uses. */
int partsFor(const Pool& pool, double work) {
  return static_cast<int>(std::max(1.0, std::min(static_cast<double>(pool.size()), std::floor(work / PARALLEL_MIN_MACS))));
}

/** One instance per JS realm (main thread, each worker thread): its pool, scratch and cache. */
/**
 * Packed panels kept for the caller, with what they were packed from: a call whose owner, shape
 * or transposition differs repacks instead of reading panels of another matrix (or past them).
 */
struct CacheSlot {
  AlignedBuffer panels;
  double owner = -1;
  int k = -1;
  int n = -1;
  bool transposed = false;
};

struct Instance {
  Pool pool{1};
  AlignedBuffer scratch;
  CacheSlot slots[CACHE_SLOTS];
  /** A layer's recurrent weight, packed once per lstmForward / lstmBackward call. */
  AlignedBuffer sequencePanels;
  /** Those calls' per-step buffers. */
  AlignedBuffer stepScratch;
};

#if ULMFIT_X64

/**
 * C[0:R, 0:cols] (+)= A[0:R, 0:kc] . B[0:kc, 0:16] with `R` rows in registers (2R accumulators).
 * B rows are `ldb` floats apart (16 for packed panels). With cols < 16 only those columns are
 * written; B must still hold 16 readable floats per row (packed panels are zero-padded).
 */
/** Writes (or adds) one micro-kernel row of 16 into C, or its first `cols` columns. */
__attribute__((target("avx2,fma"), always_inline)) inline void storeRow(float* row, __m256 lo, __m256 hi, bool accumulate, int cols) {
  if (cols == NR) {
    if (accumulate) {
      lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
      hi = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi);
    }
    _mm256_storeu_ps(row, lo);
    _mm256_storeu_ps(row + 8, hi);
    return;
  }
  alignas(32) float tile[NR];
  _mm256_store_ps(tile, lo);
  _mm256_store_ps(tile + 8, hi);
  for (int j = 0; j < cols; ++j) row[j] = accumulate ? row[j] + tile[j] : tile[j];
}

template <int R, bool TRANSPOSED_A>
__attribute__((target("avx2,fma"))) void microKernel(const float* a, size_t lda, const float* b, size_t ldb, float* c, size_t ldc,
                                                     int kc, bool accumulate, int cols) {
  // Named accumulators, not an array: GCC keeps an array of vectors in memory (a store per FMA).
  __m256 lo0 = _mm256_setzero_ps(), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0, hi2 = lo0;
  __m256 lo3 = lo0, hi3 = lo0, lo4 = lo0, hi4 = lo0, lo5 = lo0, hi5 = lo0;
  // C's rows are n floats apart and, for a large C, not in cache: start loading the tile now so
  // it is there when the sums are added (BLIS does the same).
  for (int i = 0; i < R; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }
#define ULMFIT_FMA_ROW(i)                                        \
  if constexpr (R > i) {                                         \
    const __m256 av = _mm256_broadcast_ss(TRANSPOSED_A ? a + p * lda + i : a + i * lda + p); \
    lo##i = _mm256_fmadd_ps(av, b0, lo##i);                      \
    hi##i = _mm256_fmadd_ps(av, b1, hi##i);                      \
  }
  for (int p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
    const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
    ULMFIT_FMA_ROW(0)
    ULMFIT_FMA_ROW(1)
    ULMFIT_FMA_ROW(2)
    ULMFIT_FMA_ROW(3)
    ULMFIT_FMA_ROW(4)
    ULMFIT_FMA_ROW(5)
  }
#undef ULMFIT_FMA_ROW
#define ULMFIT_STORE_ROW(i)                                                          \
  if constexpr (R > i) storeRow(c + i * ldc, lo##i, hi##i, accumulate, cols);
  ULMFIT_STORE_ROW(0)
  ULMFIT_STORE_ROW(1)
  ULMFIT_STORE_ROW(2)
  ULMFIT_STORE_ROW(3)
  ULMFIT_STORE_ROW(4)
  ULMFIT_STORE_ROW(5)
#undef ULMFIT_STORE_ROW
}

using MicroKernel = void (*)(const float*, size_t, const float*, size_t, float*, size_t, int, bool, int);
/** By [A transposed][rows]. */
constexpr MicroKernel MICRO_KERNELS[2][MR + 1] = {
    {nullptr, microKernel<1, false>, microKernel<2, false>, microKernel<3, false>, microKernel<4, false>, microKernel<5, false>, microKernel<6, false>},
    {nullptr, microKernel<1, true>, microKernel<2, true>, microKernel<3, true>, microKernel<4, true>, microKernel<5, true>, microKernel<6, true>},
};

/**
 * Panels [p0, p1) of B ([k, n]; or, `transposed`, stored as B^T [n, k]): panel p holds columns
 * 16p..16p+15 of all k rows, zero-padded.
 */
void packPanels(const float* b, bool transposed, int k, int n, int p0, int p1, float* packed) {
  for (int p = p0; p < p1; ++p) {
    float* out = packed + static_cast<size_t>(p) * k * NR;
    const int col = p * NR;
    const int width = std::min(NR, n - col);
    if (transposed) {
      // Column j of B is row j of B^T: read it straight, write it 16 floats apart.
      if (width < NR) std::memset(out, 0, static_cast<size_t>(k) * NR * sizeof(float));
      for (int j = 0; j < width; ++j) {
        const float* in = b + static_cast<size_t>(col + j) * k;
        for (int row = 0; row < k; ++row) out[static_cast<size_t>(row) * NR + j] = in[row];
      }
      continue;
    }
    for (int row = 0; row < k; ++row) {
      const float* in = b + static_cast<size_t>(row) * n + col;
      float* dst = out + static_cast<size_t>(row) * NR;
      if (width == NR) {
        std::memcpy(dst, in, NR * sizeof(float));
      } else {
        std::memcpy(dst, in, width * sizeof(float));
        std::memset(dst + width, 0, (NR - width) * sizeof(float));
      }
    }
  }
}

/**
 * Rows for the next micro-kernel call with `left` rows to go: 6, except that the last 7 to 9 go
 * as 4 + 3, 4 + 4 and 5 + 4. A strip of 1 or 2 rows has too few accumulators to hide the FMA
 * latency and costs about as much as one of 4 (32 rows: 4 x 6 + 2 x 4 instead of 5 x 6 + 2).
 */
inline int stripRows(int left) {
  if (left <= MR || left >= MR + 4) return std::min(MR, left);
  return left == MR + 3 ? 5 : 4;
}

struct GemmShape {
  const float* a;       // [m, k], or A^T [k, m] when transposedA
  const float* packed;  // ceil(n/16) panels of [k, 16]
  float* c;             // [m, n]
  int m, k, n;
  bool transposedA;
};

/**
 * Rows [r0, r1) x panels [p0, p1) of C = A . B, blocked for the caches the way BLIS does: a block
 * of panels (KC x NC floats of packed B, in L3 while C streams past) at a time, then a block of k,
 * then MC rows of A (in L2) against each panel (in L1).
 */
void gemmBlock(const GemmShape& g, int r0, int r1, int p0, int p1) {
  // Each pool thread has its own (they run gemmBlock at once); grown once, kept for the thread's life.
  thread_local AlignedBuffer transposedBlock;
  const int kBlocks = (g.k + KC - 1) / KC;
  // Equal k blocks: 600 = 3 x 200 rather than 256 + 256 + 88.
  const int kc = (g.k + kBlocks - 1) / kBlocks;
  for (int jc = p0; jc < p1; jc += NC_PANELS) {
    const int panelEnd = std::min(jc + NC_PANELS, p1);
    for (int pc = 0; pc < g.k; pc += kc) {
      const int kcHere = std::min(kc, g.k - pc);
      for (int ic = r0; ic < r1; ic += MC) {
        const int rowEnd = std::min(ic + MC, r1);
        // A stored transposed: copy this block's kc x (rowEnd - ic) slice together, so the strips
        // read consecutive lines instead of one line per k from pages m floats apart.
        const float* aT = nullptr;
        size_t ldaT = 0;
        if (g.transposedA) {
          ldaT = static_cast<size_t>(rowEnd - ic);
          float* copy = transposedBlock.reserve(ldaT * kcHere);
          for (int q = 0; q < kcHere; ++q) {
            std::memcpy(copy + q * ldaT, g.a + static_cast<size_t>(pc + q) * g.m + ic, ldaT * sizeof(float));
          }
          aT = copy;
        }
        for (int p = jc; p < panelEnd; ++p) {
          const float* panel = g.packed + static_cast<size_t>(p) * g.k * NR + static_cast<size_t>(pc) * NR;
          const int col = p * NR;
          const int cols = std::min(NR, g.n - col);
          for (int i = ic, rows = 0; i < rowEnd; i += rows) {
            rows = stripRows(rowEnd - i);
            const float* aBlock = g.transposedA ? aT + (i - ic) : g.a + static_cast<size_t>(i) * g.k + pc;
            MICRO_KERNELS[g.transposedA][rows](aBlock, g.transposedA ? ldaT : g.k, panel, NR, g.c + static_cast<size_t>(i) * g.n + col, g.n,
                                               kcHere, pc > 0, cols);
          }
        }
      }
    }
  }
}

/** C = A . B for fewer than MR rows, reading B ([k, n]) in place: packing would cost more than the multiply. */
__attribute__((target("avx2,fma"))) void gemmFewRows(const float* a, bool transposedA, const float* b, float* c, int m, int k, int n, int c0,
                                                     int c1) {
  const size_t lda = transposedA ? m : k;
  int col = c0;
  for (; col + NR <= c1; col += NR) {
    MICRO_KERNELS[transposedA][m](a, lda, b + col, n, c + col, n, k, false, NR);
  }
  // The last columns in scalar code: a 16-wide load there could read past B's end.
  for (int r = 0; r < m; ++r) {
    for (int j = col; j < c1; ++j) {
      float sum = 0;
      for (int p = 0; p < k; ++p) sum = std::fma(transposedA ? a[p * lda + r] : a[r * lda + p], b[static_cast<size_t>(p) * n + j], sum);
      c[static_cast<size_t>(r) * n + j] = sum;
    }
  }
}

/**
 * Columns [c0, c1) of C = A . B for fewer than MR rows with B stored transposed (B^T [n, k]: the
 * one-token forward passes of generation, whose weights are [out, in]): each column is a dot
 * product of A's rows with one contiguous row of B^T, read once for all rows. Packing B would
 * read and write all of it for a single use.
 */
__attribute__((target("avx2,fma"))) void gemmFewRowsBT(const float* a, const float* bT, float* c, int m, int k, int n, int c0, int c1) {
  for (int j = c0; j < c1; ++j) {
    const float* w = bT + static_cast<size_t>(j) * k;
    __m256 acc[MR - 1];
    for (int r = 0; r < m; ++r) acc[r] = _mm256_setzero_ps();
    int p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256 wv = _mm256_loadu_ps(w + p);
      for (int r = 0; r < m; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a + static_cast<size_t>(r) * k + p), wv, acc[r]);
    }
    for (int r = 0; r < m; ++r) {
      alignas(32) float lanes[8];
      _mm256_store_ps(lanes, acc[r]);
      float sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
      for (int q = p; q < k; ++q) sum = std::fma(a[static_cast<size_t>(r) * k + q], w[q], sum);
      c[static_cast<size_t>(r) * n + j] = sum;
    }
  }
}

/** A part of [0, count) for participant `id` of `parts`, in multiples of `unit`. */
std::pair<int, int> share(int count, int unit, int id, int parts) {
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
double balance(int units, int parts) {
  const int most = (units + parts - 1) / parts;
  return static_cast<double>(units) / (static_cast<double>(most) * parts);
}

/**
 * C = op(A) . op(B) (one batch entry), op transposing where asked. `packed` is null when B must be
 * packed now (into `scratch`), `packInto` non-null when it must be packed into a cache slot.
 */
void gemm(Instance& inst, const float* a, bool transposedA, const float* b, bool transposedB, float* c, int m, int k, int n, const float* packed,
          float* packInto) {
  if (k == 0) {
    std::memset(c, 0, static_cast<size_t>(m) * n * sizeof(float));
    return;
  }
  const double macs = static_cast<double>(m) * k * n;
  const int parts = partsFor(inst.pool, macs);
  if (m < MR && packed == nullptr && packInto == nullptr && (!transposedB || !transposedA)) {
    inst.pool.run(parts, [&](int id) {
      if (id >= parts) return;
      auto [c0, c1] = share(n, NR, id, parts);
      if (c0 >= c1) return;
      if (transposedB) {
        gemmFewRowsBT(a, b, c, m, k, n, c0, c1);
      } else {
        gemmFewRows(a, transposedA, b, c, m, k, n, c0, c1);
      }
    });
    return;
  }
  const int panels = (n + NR - 1) / NR;
  float* target = nullptr;
  if (packed == nullptr) {
    target = packInto != nullptr ? packInto : inst.scratch.reserve(static_cast<size_t>(panels) * k * NR);
  }
  const GemmShape shape{a, packed != nullptr ? packed : target, c, m, k, n, transposedA};
  const int strips = (m + MR - 1) / MR;
  // Split the panels when they divide evenly (each thread packs its own); otherwise the rows,
  // after packing every panel.
  const bool splitPanels = parts == 1 || balance(panels, parts) >= 0.95 || balance(panels, parts) >= balance(strips, parts);
  if (splitPanels) {
    inst.pool.run(parts, [&](int id) {
      if (id >= parts) return;
      auto [p0, p1] = share(panels, 1, id, parts);
      if (p0 >= p1) return;
      if (target != nullptr) packPanels(b, transposedB, k, n, p0, p1, target);
      gemmBlock(shape, 0, m, p0, p1);
    });
  } else {
    if (target != nullptr) {
      inst.pool.run(parts, [&](int id) {
        if (id >= parts) return;
        auto [p0, p1] = share(panels, 1, id, parts);
        if (p0 < p1) packPanels(b, transposedB, k, n, p0, p1, target);
      });
    }
    inst.pool.run(parts, [&](int id) {
      if (id >= parts) return;
      auto [r0, r1] = share(m, MR, id, parts);
      if (r0 < r1) gemmBlock(shape, r0, r1, 0, panels);
    });
  }
}

/**
 * e^x for 8 floats: x = n ln 2 + r with |r| <= ln 2 / 2, e^r by a degree-7 polynomial (Cephes'
 * expf coefficients: about 1 ulp), 2^n by the exponent bits; 0 below -87.3, +inf above 88.3, NaN for NaN.
 */
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 input) {
  // max/min return their second operand when one is NaN: input second, so NaN passes through.
  const __m256 x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), input));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  const __m256 result = _mm256_mul_ps(y, _mm256_castsi256_ps(exponent));
  // Below the clamp e^x is 0 and above it +inf, as std::exp gives (NaN compares "not less than"
  // and not "greater than": it stays NaN).
  const __m256 low = _mm256_and_ps(result, _mm256_cmp_ps(input, _mm256_set1_ps(-87.3f), _CMP_NLT_UQ));
  return _mm256_blendv_ps(low, _mm256_set1_ps(INFINITY), _mm256_cmp_ps(input, _mm256_set1_ps(88.3f), _CMP_GT_OQ));
}

/** Rows [r0, r1) of p = softmax(z) ([rows, cols]) and lse = log sum exp(z) per row; a row with a NaN or +inf gives NaN. */
__attribute__((target("avx2,fma"))) void softmaxRows(const float* z, float* p, float* lse, int r0, int r1, int cols) {
  for (int r = r0; r < r1; ++r) {
    const float* in = z + static_cast<size_t>(r) * cols;
    float* out = p + static_cast<size_t>(r) * cols;
    __m256 vmax = _mm256_set1_ps(-INFINITY);
    __m256 unordered = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
      const __m256 v = _mm256_loadu_ps(in + j);
      vmax = _mm256_max_ps(vmax, v);
      unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vmax);
    float most = -INFINITY;
    for (float lane : lanes) most = std::max(most, lane);
    bool bad = _mm256_movemask_ps(unordered) != 0;
    for (; j < cols; ++j) {
      bad = bad || std::isnan(in[j]);
      most = std::max(most, in[j]);
    }
    if (bad || std::isinf(most)) {
      std::fill(out, out + cols, NAN);
      lse[r] = NAN;
      continue;
    }
    const __m256 shift = _mm256_set1_ps(most);
    __m256 vsum = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= cols; j += 8) {
      const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(in + j), shift));
      _mm256_storeu_ps(out + j, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    _mm256_store_ps(lanes, vsum);
    double sum = 0;
    for (float lane : lanes) sum += lane;
    for (; j < cols; ++j) {
      out[j] = std::exp(in[j] - most);
      sum += out[j];
    }
    const __m256 scale = _mm256_set1_ps(static_cast<float>(1.0 / sum));
    j = 0;
    for (; j + 8 <= cols; j += 8) _mm256_storeu_ps(out + j, _mm256_mul_ps(_mm256_loadu_ps(out + j), scale));
    for (; j < cols; ++j) out[j] *= static_cast<float>(1.0 / sum);
    lse[r] = static_cast<float>(most + std::log(sum));
  }
}

/**
 * Rows [r0, r1) of C ([rows, n]): C += D (when `addend`: [rows, n], or one [n] row for every row
 * when `addendIsRow`), then C = sigma(C) (when `sigmoid`), sigma(x) = 1 / (1 + e^-x).
 */
__attribute__((target("avx2,fma"))) void epilogueRows(float* c, const float* addend, bool addendIsRow, bool sigmoid, int r0, int r1, int n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int r = r0; r < r1; ++r) {
    float* row = c + static_cast<size_t>(r) * n;
    const float* add = addend == nullptr ? nullptr : addendIsRow ? addend : addend + static_cast<size_t>(r) * n;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
      __m256 v = _mm256_loadu_ps(row + j);
      if (add != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(add + j));
      if (sigmoid) v = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
      _mm256_storeu_ps(row + j, v);
    }
    for (; j < n; ++j) {
      float v = row[j];
      if (add != nullptr) v = v + add[j];
      if (sigmoid) v = 1.0f / (1.0f + std::exp(-v));
      row[j] = v;
    }
  }
}

/**
 * Rows [r0, r1) of one LSTM step's cell and output from its gate activations s ([rows, 4H]: i, f,
 * sigma(2 z_g), o) and 2c_{t-1}: 2c_t = f.2c_{t-1} + i.(4 sigma(2 z_g) - 2), tanh(c_t) = 2 sigma(2c_t) - 1,
 * h_t = o.tanh(c_t) (src/model/lstm.ts cellStep).
 */
__attribute__((target("avx2,fma"))) void lstmCellRows(const float* s, const float* c2Prev, float* c2, float* tanhC, float* h, int r0, int r1,
                                                      int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), four = _mm256_set1_ps(4.0f);
  for (int r = r0; r < r1; ++r) {
    const float* gates = s + static_cast<size_t>(r) * 4 * hidden;
    const size_t row = static_cast<size_t>(r) * hidden;
    int j = 0;
    for (; j + 8 <= hidden; j += 8) {
      const __m256 si = _mm256_loadu_ps(gates + j), sf = _mm256_loadu_ps(gates + hidden + j);
      const __m256 sg = _mm256_loadu_ps(gates + 2 * hidden + j), so = _mm256_loadu_ps(gates + 3 * hidden + j);
      const __m256 cell = _mm256_add_ps(_mm256_mul_ps(sf, _mm256_loadu_ps(c2Prev + row + j)), _mm256_mul_ps(si, _mm256_sub_ps(_mm256_mul_ps(sg, four), two)));
      const __m256 sigma = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), cell))));
      const __m256 t = _mm256_sub_ps(_mm256_mul_ps(sigma, two), one);
      _mm256_storeu_ps(c2 + row + j, cell);
      _mm256_storeu_ps(tanhC + row + j, t);
      _mm256_storeu_ps(h + row + j, _mm256_mul_ps(so, t));
    }
    for (; j < hidden; ++j) {
      const float cell = gates[hidden + j] * c2Prev[row + j] + gates[j] * (gates[2 * hidden + j] * 4.0f - 2.0f);
      const float t = 2.0f / (1.0f + std::exp(-cell)) - 1.0f;
      c2[row + j] = cell;
      tanhC[row + j] = t;
      h[row + j] = gates[3 * hidden + j] * t;
    }
  }
}

/** B ([k, n]; or, `transposed`, stored as B^T [n, k]) packed into all its panels, the panels split over the pool. */
void packAll(Pool& pool, const float* b, bool transposed, int k, int n, float* packed) {
  const int panels = (n + NR - 1) / NR;
  const int parts = partsFor(pool, static_cast<double>(k) * n);
  pool.run(parts, [&](int id) {
    if (id >= parts) return;
    auto [p0, p1] = share(panels, 1, id, parts);
    if (p0 < p1) packPanels(b, transposed, k, n, p0, p1, packed);
  });
}

/**
 * Rows [r0, r1) of one step's gates from the recurrent product in s ([rows, 4H]) and the input
 * projection: s = σ(g (s + projected)) with g = 2 on the third (cell input) block of H columns and
 * 1 elsewhere, so the g block gives σ(2 z_g) (tanh z_g = 2σ(2 z_g) − 1). Doubling is exact: the
 * same bits as doubling those columns of the weights and biases first.
 */
__attribute__((target("avx2,fma"))) void gateRows(float* s, const float* projected, int r0, int r1, int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int r = r0; r < r1; ++r) {
    for (int gate = 0; gate < 4; ++gate) {
      const size_t at = (static_cast<size_t>(r) * 4 + gate) * hidden;
      float* row = s + at;
      const float* add = projected + at;
      const float scale = gate == 2 ? 2.0f : 1.0f;
      const __m256 vscale = _mm256_set1_ps(scale);
      int j = 0;
      for (; j + 8 <= hidden; j += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(add + j)), vscale);
        _mm256_storeu_ps(row + j, _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v)))));
      }
      for (; j < hidden; ++j) row[j] = 1.0f / (1.0f + std::exp(-((row[j] + add[j]) * scale)));
    }
  }
}

/** Where lstmForward reads and writes (float32, row-major); null where the caller keeps nothing. */
struct LstmForwardArgs {
  const float* projected;  // [T*rows, 4H]: x_t . W_ih^T + b_ih + b_hh
  const float* weightHh;   // [4H, H]
  const float* h0;         // [rows, H]
  const float* c2First;    // [rows, H]: 2 c_0
  float* sigmoids;         // [T*rows, 4H]: σ(i), σ(f), σ(2 z_g), σ(o); or null
  float* tanhC;            // [T*rows, H] or null
  float* cells;            // [(T+1)*rows, H]: 2c_0 .. 2c_T, or null
  float* output;           // [T*rows, H]: h_1 .. h_T
  float* hPrev;            // [T*rows, H]: h_0 .. h_{T-1}, or null
  float* c2Last;           // [rows, H]: 2c_T, or null
  int seqLen, rows, hidden;
};

/**
 * A whole LSTM layer's forward pass over T steps in one call: per step the product
 * h_{t-1} . W_hh^T (W_hh packed once for all steps, transposed while packing), then per row the
 * gates (gateRows) and the cell and output (lstmCellRows).
 */
void lstmForward(Instance& inst, const LstmForwardArgs& f) {
  const int rows = f.rows, hidden = f.hidden, gates = 4 * hidden;
  const size_t narrow = static_cast<size_t>(rows) * hidden, wide = narrow * 4;
  // Fewer rows than a strip (generation: one) read W_hh in place, as gemm does for them.
  float* panels = nullptr;
  if (rows >= MR) {
    panels = inst.sequencePanels.reserve(static_cast<size_t>((gates + NR - 1) / NR) * hidden * NR);
    packAll(inst.pool, f.weightHh, true, hidden, gates, panels);
  }
  // Steps whose intermediates the caller does not keep go to scratch: s, tanh c, and 2c alternating.
  float* scratch = inst.stepScratch.reserve(wide + 3 * narrow);
  float* scratchS = scratch;
  float* scratchT = scratch + wide;
  float* scratchC[2] = {scratch + wide + narrow, scratch + wide + 2 * narrow};
  if (f.cells != nullptr) std::memcpy(f.cells, f.c2First, narrow * sizeof(float));
  const double rowWork = static_cast<double>(rows) * gates * 12;
  for (int t = 0; t < f.seqLen; ++t) {
    const float* hIn = t == 0 ? f.h0 : f.output + (t - 1) * narrow;
    float* s = f.sigmoids != nullptr ? f.sigmoids + t * wide : scratchS;
    gemm(inst, hIn, false, f.weightHh, true, s, rows, hidden, gates, panels, nullptr);
    const float* projected = f.projected + t * wide;
    const float* c2Prev = f.cells != nullptr ? f.cells + t * narrow : t == 0 ? f.c2First : scratchC[(t - 1) & 1];
    float* c2 = f.cells != nullptr ? f.cells + (t + 1) * narrow : scratchC[t & 1];
    float* tanhC = f.tanhC != nullptr ? f.tanhC + t * narrow : scratchT;
    float* h = f.output + t * narrow;
    runRows(inst.pool, rows, rowWork, [&](int r0, int r1) {
      gateRows(s, projected, r0, r1, hidden);
      lstmCellRows(s, c2Prev, c2, tanhC, h, r0, r1, hidden);
    });
    if (f.hPrev != nullptr) std::memcpy(f.hPrev + t * narrow, hIn, narrow * sizeof(float));
    if (f.c2Last != nullptr && t == f.seqLen - 1) std::memcpy(f.c2Last, c2, narrow * sizeof(float));
  }
  if (f.c2Last != nullptr && f.seqLen == 0) std::memcpy(f.c2Last, f.c2First, narrow * sizeof(float));
}

/**
 * Rows [r0, r1) of one backward step, the coefficients of src/model/lstm.ts lstmBackward computed
 * here from the saved forward values (the operations of the wasm lstm_coef and lstm_back kernels,
 * in their order, so the same bits):
 *   A = o(1 − tanh²c_t), B = [g·i(1−i), c_{t-1}·f(1−f), i(1 − g²), tanh c_t·o(1−o)], g = 2σ(2z_g) − 1
 *   dh = dy + mm, dc = dh·A + carry, dz = [dc, dc, dc, dh]·B, carry' = dc·f
 * `mm` and `carry` null for the last step (dh = dy, no carry); carry is updated in place.
 */
__attribute__((target("avx2,fma"))) void lstmBackRows(const float* s, const float* c2Prev, const float* tanhC, const float* dy, const float* mm,
                                                      float* carry, float* dz, int r0, int r1, int hidden) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f), half = _mm256_set1_ps(0.5f);
  for (int r = r0; r < r1; ++r) {
    const size_t wideRow = static_cast<size_t>(r) * 4 * hidden, row = static_cast<size_t>(r) * hidden;
    const float* si = s + wideRow;
    const float* sf = si + hidden;
    const float* sg = sf + hidden;
    const float* so = sg + hidden;
    float* dzi = dz + wideRow;
    float* dzf = dzi + hidden;
    float* dzg = dzf + hidden;
    float* dzo = dzg + hidden;
    int j = 0;
    for (; j + 8 <= hidden; j += 8) {
      const __m256 vi = _mm256_loadu_ps(si + j), vf = _mm256_loadu_ps(sf + j), vg = _mm256_loadu_ps(sg + j), vo = _mm256_loadu_ps(so + j);
      const __m256 tc = _mm256_loadu_ps(tanhC + row + j);
      const __m256 tanhG = _mm256_sub_ps(_mm256_mul_ps(vg, two), one);
      const __m256 cPrev = _mm256_mul_ps(_mm256_loadu_ps(c2Prev + row + j), half);
      const __m256 coefA = _mm256_mul_ps(vo, _mm256_sub_ps(one, _mm256_mul_ps(tc, tc)));
      const __m256 bi = _mm256_mul_ps(tanhG, _mm256_mul_ps(vi, _mm256_sub_ps(one, vi)));
      const __m256 bf = _mm256_mul_ps(cPrev, _mm256_mul_ps(vf, _mm256_sub_ps(one, vf)));
      const __m256 bg = _mm256_mul_ps(vi, _mm256_sub_ps(one, _mm256_mul_ps(tanhG, tanhG)));
      const __m256 bo = _mm256_mul_ps(tc, _mm256_mul_ps(vo, _mm256_sub_ps(one, vo)));
      __m256 dh = _mm256_loadu_ps(dy + row + j);
      __m256 dc;
      if (mm != nullptr) {
        dh = _mm256_add_ps(dh, _mm256_loadu_ps(mm + row + j));
        dc = _mm256_add_ps(_mm256_mul_ps(dh, coefA), _mm256_loadu_ps(carry + row + j));
      } else {
        dc = _mm256_mul_ps(dh, coefA);
      }
      _mm256_storeu_ps(dzi + j, _mm256_mul_ps(dc, bi));
      _mm256_storeu_ps(dzf + j, _mm256_mul_ps(dc, bf));
      _mm256_storeu_ps(dzg + j, _mm256_mul_ps(dc, bg));
      _mm256_storeu_ps(dzo + j, _mm256_mul_ps(dh, bo));
      _mm256_storeu_ps(carry + row + j, _mm256_mul_ps(dc, vf));
    }
    for (; j < hidden; ++j) {
      const float tc = tanhC[row + j];
      const float tanhG = sg[j] * 2.0f - 1.0f;
      const float cPrev = c2Prev[row + j] * 0.5f;
      const float coefA = so[j] * (1.0f - tc * tc);
      float dh = dy[row + j];
      float dc;
      if (mm != nullptr) {
        dh = dh + mm[row + j];
        dc = dh * coefA + carry[row + j];
      } else {
        dc = dh * coefA;
      }
      dzi[j] = dc * (tanhG * (si[j] * (1.0f - si[j])));
      dzf[j] = dc * (cPrev * (sf[j] * (1.0f - sf[j])));
      dzg[j] = dc * (si[j] * (1.0f - tanhG * tanhG));
      dzo[j] = dh * (tc * (so[j] * (1.0f - so[j])));
      carry[row + j] = dc * sf[j];
    }
  }
}

/** Where lstmBackward reads and writes (float32, row-major). */
struct LstmBackwardArgs {
  const float* dy;        // [T*rows, H]: the loss's gradient w.r.t. every output h_t
  const float* sigmoids;  // [T*rows, 4H] saved by lstmForward
  const float* cells;     // [(T+1)*rows, H] (the first T*rows are read: 2c_{t-1})
  const float* tanhC;     // [T*rows, H]
  const float* weightHh;  // [4H, H] as stored (not doubled)
  float* dz;              // [T*rows, 4H]: the gradient w.r.t. every step's gate pre-activations
  int seqLen, rows, hidden;
};

/**
 * Back-propagation through time for a whole layer in one call, t = T-1 .. 0: mm = dz_{t+1} . W_hh
 * (W_hh packed once), then lstmBackRows. The same bits as the per-step path (a gemm call per
 * step, the wasm coefficients and step kernels).
 */
void lstmBackward(Instance& inst, const LstmBackwardArgs& b) {
  const int rows = b.rows, hidden = b.hidden, gates = 4 * hidden;
  const size_t narrow = static_cast<size_t>(rows) * hidden, wide = narrow * 4;
  const bool pack = rows >= MR;
  float* panels = nullptr;
  if (pack) {
    panels = inst.sequencePanels.reserve(static_cast<size_t>((hidden + NR - 1) / NR) * gates * NR);
    packAll(inst.pool, b.weightHh, false, gates, hidden, panels);
  }
  float* scratch = inst.stepScratch.reserve(2 * narrow);
  float* mm = scratch;
  float* carry = scratch + narrow;
  const double work = static_cast<double>(narrow) * 24;
  for (int t = b.seqLen - 1; t >= 0; --t) {
    const bool last = t == b.seqLen - 1;
    if (!last) gemm(inst, b.dz + (t + 1) * wide, false, b.weightHh, false, mm, rows, gates, hidden, panels, nullptr);
    runRows(inst.pool, rows, work, [&](int r0, int r1) {
      lstmBackRows(b.sigmoids + t * wide, b.cells + t * narrow, b.tanhC + t * narrow, b.dy + t * narrow, last ? nullptr : mm, carry, b.dz + t * wide,
                   r0, r1, hidden);
    });
  }
}

/** One AdamW step's float32 scalars (src/wasm/kernels.ts AdamWScalars). */
struct AdamWScalars {
  float decay, mom, oneMinusMom, sqrMom, oneMinusSqrMom, debias2, eps, stepSize;
};

/**
 * Elements [i0, i1) of one AdamW step, the wasm adamw kernel's float32 operations in its order
 * (the same bits): m' = m·mom + g·(1−mom), v' = v·sqrMom + g²·(1−sqrMom),
 * p' = p·decay − (m' / (sqrt(v' / debias2) + eps))·step.
 */
__attribute__((target("avx2,fma"))) void adamwRange(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut,
                                                    const AdamWScalars& k, size_t i0, size_t i1) {
  const __m256 decay = _mm256_set1_ps(k.decay), mom = _mm256_set1_ps(k.mom), oneMinusMom = _mm256_set1_ps(k.oneMinusMom);
  const __m256 sqrMom = _mm256_set1_ps(k.sqrMom), oneMinusSqrMom = _mm256_set1_ps(k.oneMinusSqrMom), debias2 = _mm256_set1_ps(k.debias2);
  const __m256 eps = _mm256_set1_ps(k.eps), stepSize = _mm256_set1_ps(k.stepSize);
  size_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 grad = _mm256_loadu_ps(g + i);
    const __m256 mNew = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), mom), _mm256_mul_ps(grad, oneMinusMom));
    const __m256 vNew = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), sqrMom), _mm256_mul_ps(_mm256_mul_ps(grad, grad), oneMinusSqrMom));
    _mm256_storeu_ps(mOut + i, mNew);
    _mm256_storeu_ps(vOut + i, vNew);
    const __m256 denominator = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vNew, debias2)), eps);
    _mm256_storeu_ps(pOut + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_loadu_ps(p + i), decay), _mm256_mul_ps(_mm256_div_ps(mNew, denominator), stepSize)));
  }
  for (; i < i1; ++i) {
    const float grad = g[i];
    const float mNew = m[i] * k.mom + grad * k.oneMinusMom;
    const float vNew = v[i] * k.sqrMom + (grad * grad) * k.oneMinusSqrMom;
    mOut[i] = mNew;
    vOut[i] = vNew;
    pOut[i] = p[i] * k.decay - (mNew / (std::sqrt(vNew / k.debias2) + k.eps)) * k.stepSize;
  }
}

/**
 * Columns [c0, c1) of out = Σ_rows x (x [rows, cols]), each accumulated in float64 row after row
 * (in sums[c0, c1), allocated by the caller: nothing allocates on a pool thread) and rounded once
 * (the wasm colsum kernel's numbers).
 */
__attribute__((target("avx2,fma"))) void columnSumRange(const float* x, float* out, double* sums, int rows, int cols, int c0, int c1) {
  double* acc = sums + c0;
  std::fill(acc, acc + (c1 - c0), 0.0);
  for (int r = 0; r < rows; ++r) {
    const float* row = x + static_cast<size_t>(r) * cols;
    int j = c0;
    for (; j + 4 <= c1; j += 4) {
      double* at = acc + (j - c0);
      _mm256_storeu_pd(at, _mm256_add_pd(_mm256_loadu_pd(at), _mm256_cvtps_pd(_mm_loadu_ps(row + j))));
    }
    for (; j < c1; ++j) acc[j - c0] += static_cast<double>(row[j]);
  }
  for (int j = c0; j < c1; ++j) out[j] = static_cast<float>(acc[j - c0]);
}

/**
 * Rows [r0, r1) of the softmax cross-entropy's gradient out = (p − onehot(targets))·dy (the wasm
 * ce_grad kernel's numbers: p − 0 is p); a target outside [0, classes) has no 1.
 */
__attribute__((target("avx2,fma"))) void crossEntropyGradRows(const float* p, const int32_t* targets, const float* dy, float* out, int r0, int r1,
                                                              int classes) {
  for (int r = r0; r < r1; ++r) {
    const float* in = p + static_cast<size_t>(r) * classes;
    float* row = out + static_cast<size_t>(r) * classes;
    const float d = dy[r];
    const __m256 dv = _mm256_set1_ps(d);
    int j = 0;
    for (; j + 8 <= classes; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(in + j), dv));
    for (; j < classes; ++j) row[j] = in[j] * d;
    const int32_t target = targets[r];
    if (target >= 0 && target < classes) row[target] = (in[target] - 1.0f) * d;
  }
}

bool cpuSupported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

#else

bool cpuSupported() { return false; }

#endif

// ---- N-API glue ----

napi_value throwError(napi_env env, const char* message) {
  napi_throw_error(env, "E_NATIVE", message);
  return nullptr;
}

/** Whether x is a whole number from 0 to INT_MAX - 1 (a size these kernels index with int). */
bool isCount(double x) { return x >= 0 && x < 2147483647.0 && x == std::floor(x); }

bool readNumbers(napi_env env, napi_value* args, size_t from, size_t count, double* out) {
  for (size_t i = 0; i < count; ++i) {
    if (napi_get_value_double(env, args[from + i], &out[i]) != napi_ok) return false;
  }
  return true;
}

/**
 * Reads a kernel call's `expected` arguments into `args`: the memory (an ArrayBuffer: its bytes and
 * length) first, then `count` numbers. False, with a JS error thrown, when they are not that.
 */
bool readCall(napi_env env, napi_callback_info info, const char* name, size_t expected, napi_value* args, char** bytes, double* limit,
              double* numbers, size_t count) {
  size_t argc = expected;
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  std::string prefix = std::string(name) + ": ";
  if (argc != expected) {
    throwError(env, (prefix + "expects " + std::to_string(expected) + " arguments").c_str());
    return false;
  }
  void* base = nullptr;
  size_t length = 0;
  if (napi_get_arraybuffer_info(env, args[0], &base, &length) != napi_ok) {
    throwError(env, (prefix + "memory must be an ArrayBuffer").c_str());
    return false;
  }
  if (!readNumbers(env, args, 1, count, numbers)) {
    throwError(env, (prefix + "offsets and sizes must be numbers").c_str());
    return false;
  }
  *bytes = static_cast<char*>(base);
  *limit = static_cast<double>(length);
  return true;
}

napi_value Available(napi_env env, napi_callback_info) {
  napi_value result;
  napi_get_boolean(env, cpuSupported(), &result);
  return result;
}

Instance* instanceOf(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<Instance*>(data);
}

/** setThreads(n): the pool's size, the calling thread included. Returns the size now. */
napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  double threads = 1;
  if (argc < 1 || !readNumbers(env, args, 0, 1, &threads) || threads < 1 || threads > 256) {
    return throwError(env, "setThreads(n): n must be a whole number from 1 to 256");
  }
  Instance* inst = instanceOf(env);
  try {
    inst->pool.resize(static_cast<int>(threads));
  } catch (const std::exception&) {
    return throwError(env, "setThreads: could not start the threads (a thread limit?); fewer threads are running");
  }
  napi_value result;
  napi_create_int32(env, inst->pool.size(), &result);
  return result;
}

/**
 * gemm(memory, a, b, c, m, k, n, batches, slot, repack, transposeA, transposeB, addend, addendIsRow, sigmoid, owner):
 * C = act(op(A) . op(B) + D), D at byte offset `addend` ([m, n] like C, or one [n] row for all rows
 * with `addendIsRow`; none when negative), act the logistic sigmoid when `sigmoid`, else none. C = op(A) . op(B)
 * for row-major float32 matrices at byte offsets a, b, c of `memory` (an ArrayBuffer), batch after
 * batch; C is [m, n], A is [m, k] (stored [k, m] with transposeA), B is [k, n] (stored [n, k] with
 * transposeB). slot >= 0 (batches = 1): B's panels are kept in that cache slot, packed now when
 * `repack` (or when the slot holds panels of another owner, shape or transposition), else reused.
 * `owner` tells the callers sharing this thread's slots apart (one per wasm backend).
 */
napi_value Gemm(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[16];
  char* bytes = nullptr;
  double limit = 0;
  double v[8];
  if (!readCall(env, info, "gemm", 16, args, &bytes, &limit, v, 8)) return nullptr;
  bool repack = false;
  bool transposeA = false;
  bool transposeB = false;
  if (napi_get_value_bool(env, args[9], &repack) != napi_ok || napi_get_value_bool(env, args[10], &transposeA) != napi_ok ||
      napi_get_value_bool(env, args[11], &transposeB) != napi_ok) {
    return throwError(env, "gemm: repack, transposeA and transposeB must be booleans");
  }
  double addendAt = -1;
  bool addendIsRow = false;
  bool sigmoid = false;
  double owner = 0;
  if (napi_get_value_double(env, args[12], &addendAt) != napi_ok || napi_get_value_bool(env, args[13], &addendIsRow) != napi_ok ||
      napi_get_value_bool(env, args[14], &sigmoid) != napi_ok || napi_get_value_double(env, args[15], &owner) != napi_ok) {
    return throwError(env, "gemm: addend and owner must be numbers, addendIsRow and sigmoid booleans");
  }
  const double aAt = v[0], bAt = v[1], cAt = v[2], m = v[3], k = v[4], n = v[5], batches = v[6], slot = v[7];
  const bool sizesOk = m >= 1 && k >= 0 && n >= 1 && batches >= 1 && m < 2147483647.0 && k < 2147483647.0 && n < 2147483647.0;
  if (!sizesOk || aAt < 0 || bAt < 0 || cAt < 0 || std::fmod(aAt, 4) != 0 || std::fmod(bAt, 4) != 0 || std::fmod(cAt, 4) != 0 ||
      aAt + batches * m * k * 4 > limit || bAt + batches * k * n * 4 > limit || cAt + batches * m * n * 4 > limit) {
    return throwError(env, "gemm: operands do not lie inside the memory (offsets, shapes)");
  }
  if (slot >= CACHE_SLOTS || (slot >= 0 && batches != 1)) return throwError(env, "gemm: bad cache slot");
  if (addendAt >= 0 && (std::fmod(addendAt, 4) != 0 || addendAt + (addendIsRow ? n : batches * m * n) * 4 > limit)) {
    return throwError(env, "gemm: the addend does not lie inside the memory");
  }
  Instance* inst = instanceOf(env);
  const int mi = static_cast<int>(m), ki = static_cast<int>(k), ni = static_cast<int>(n);
  try {
    for (int batch = 0; batch < static_cast<int>(batches); ++batch) {
      const float* a = reinterpret_cast<const float*>(bytes + static_cast<size_t>(aAt)) + static_cast<size_t>(batch) * mi * ki;
      const float* b = reinterpret_cast<const float*>(bytes + static_cast<size_t>(bAt)) + static_cast<size_t>(batch) * ki * ni;
      float* c = reinterpret_cast<float*>(bytes + static_cast<size_t>(cAt)) + static_cast<size_t>(batch) * mi * ni;
      const float* packed = nullptr;
      float* packInto = nullptr;
      if (slot >= 0 && ki > 0) {
        CacheSlot& cache = inst->slots[static_cast<int>(slot)];
        const bool fits = cache.panels.data() != nullptr && cache.owner == owner && cache.k == ki && cache.n == ni && cache.transposed == transposeB;
        if (repack || !fits) {
          packInto = cache.panels.reserve(static_cast<size_t>((ni + NR - 1) / NR) * ki * NR);
          cache.owner = owner;
          cache.k = ki;
          cache.n = ni;
          cache.transposed = transposeB;
        } else {
          packed = cache.panels.data();
        }
      }
      gemm(*inst, a, transposeA, b, transposeB, c, mi, ki, ni, packed, packInto);
      if (addendAt >= 0 || sigmoid) {
        const float* addendBase = addendAt >= 0 ? reinterpret_cast<const float*>(bytes + static_cast<size_t>(addendAt)) : nullptr;
        const float* addend = addendAt < 0 ? nullptr : addendIsRow ? addendBase : addendBase + static_cast<size_t>(batch) * mi * ni;
        runRows(inst->pool, mi, m * n * 8, [&](int r0, int r1) { epilogueRows(c, addend, addendIsRow, sigmoid, r0, r1, ni); });
      }
    }
  } catch (const std::bad_alloc&) {
    return throwError(env, "gemm: out of memory for packed panels");
  }
  return nullptr;
#else
  return throwError(env, "gemm: this build has no native kernels for this CPU");
#endif
}

/**
 * softmax(memory, z, p, lse, rows, cols): p = softmax(z) row by row and lse = log sum exp(z) per
 * row, for float32 [rows, cols] at byte offsets of `memory`, rows split over the pool.
 */
napi_value Softmax(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[6];
  char* bytes = nullptr;
  double limit = 0;
  double v[5];
  if (!readCall(env, info, "softmax", 6, args, &bytes, &limit, v, 5)) return nullptr;
  const double zAt = v[0], pAt = v[1], lseAt = v[2], rows = v[3], cols = v[4];
  if (!(isCount(rows) && isCount(cols) && cols >= 1) || zAt < 0 || pAt < 0 || lseAt < 0 || std::fmod(zAt, 4) != 0 ||
      std::fmod(pAt, 4) != 0 || std::fmod(lseAt, 4) != 0 || zAt + rows * cols * 4 > limit || pAt + rows * cols * 4 > limit ||
      lseAt + rows * 4 > limit) {
    return throwError(env, "softmax: operands do not lie inside the memory (offsets, shapes)");
  }
  Instance* inst = instanceOf(env);
  const float* z = reinterpret_cast<const float*>(bytes + static_cast<size_t>(zAt));
  float* p = reinterpret_cast<float*>(bytes + static_cast<size_t>(pAt));
  float* lse = reinterpret_cast<float*>(bytes + static_cast<size_t>(lseAt));
  const int r = static_cast<int>(rows), c = static_cast<int>(cols);
  runRows(inst->pool, r, rows * cols * 4, [&](int r0, int r1) { softmaxRows(z, p, lse, r0, r1, c); });
  return nullptr;
#else
  return throwError(env, "softmax: this build has no native kernels for this CPU");
#endif
}

/**
 * Checks float32 operands at byte offsets v[i] (a negative one is absent where `optional[i]`)
 * against the memory's length: sizes[i] floats each, 4-byte aligned.
 */
bool operandsFit(const double* v, const double* sizes, const bool* optional, int count, double limit) {
  for (int i = 0; i < count; ++i) {
    if (v[i] < 0 && optional[i]) continue;
    if (v[i] < 0 || std::fmod(v[i], 4) != 0 || v[i] + sizes[i] * 4 > limit) return false;
  }
  return true;
}

/** A whole-layer LSTM call's T, rows and H: whole numbers, its [T·rows, 4H] and [4H, H] operands indexable with int. */
bool lstmShapeFits(double seqLen, double rows, double hidden) {
  return isCount(seqLen) && isCount(rows) && rows >= 1 && isCount(hidden) && hidden >= 1 && seqLen * rows * hidden * 4 < 2147483647.0 &&
         hidden * 4 * hidden < 2147483647.0;
}

/**
 * lstmForward(memory, projected, weightHh, h0, c2First, sigmoids, tanhC, cells, output, hPrev,
 * c2Last, seqLen, rows, hidden): a whole LSTM layer's forward pass (see lstmForward above), float32
 * at byte offsets of `memory`; sigmoids, tanhC, cells, hPrev and c2Last may be -1 (not kept).
 */
napi_value LstmForward(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[14];
  char* bytes = nullptr;
  double limit = 0;
  double v[13];
  if (!readCall(env, info, "lstmForward", 14, args, &bytes, &limit, v, 13)) return nullptr;
  const double seqLen = v[10], rows = v[11], hidden = v[12];
  const double narrow = rows * hidden, steps = seqLen * narrow;
  const double sizes[10] = {steps * 4, hidden * 4 * hidden, narrow, narrow, steps * 4, steps, steps + narrow, steps, steps, narrow};
  const bool optional[10] = {false, false, false, false, true, true, true, false, true, true};
  if (!lstmShapeFits(seqLen, rows, hidden) ||
      !operandsFit(v, sizes, optional, 10, limit)) {
    return throwError(env, "lstmForward: operands do not lie inside the memory (offsets, shapes)");
  }
  auto at = [&](int i) { return v[i] < 0 ? nullptr : reinterpret_cast<float*>(bytes + static_cast<size_t>(v[i])); };
  try {
    lstmForward(*instanceOf(env), LstmForwardArgs{at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), at(8), at(9), static_cast<int>(seqLen),
                                                  static_cast<int>(rows), static_cast<int>(hidden)});
  } catch (const std::bad_alloc&) {
    return throwError(env, "lstmForward: out of memory for packed weights");
  }
  return nullptr;
#else
  return throwError(env, "lstmForward: this build has no native kernels for this CPU");
#endif
}

/**
 * lstmBackward(memory, dy, sigmoids, cells, tanhC, weightHh, dz, seqLen, rows, hidden):
 * back-propagation through time for a whole layer (see lstmBackward above), float32 at byte
 * offsets of `memory`.
 */
napi_value LstmBackward(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[10];
  char* bytes = nullptr;
  double limit = 0;
  double v[9];
  if (!readCall(env, info, "lstmBackward", 10, args, &bytes, &limit, v, 9)) return nullptr;
  const double seqLen = v[6], rows = v[7], hidden = v[8];
  const double narrow = rows * hidden, steps = seqLen * narrow;
  const double sizes[6] = {steps, steps * 4, steps, steps, hidden * 4 * hidden, steps * 4};
  const bool optional[6] = {false, false, false, false, false, false};
  if (!lstmShapeFits(seqLen, rows, hidden) ||
      !operandsFit(v, sizes, optional, 6, limit)) {
    return throwError(env, "lstmBackward: operands do not lie inside the memory (offsets, shapes)");
  }
  auto at = [&](int i) { return reinterpret_cast<float*>(bytes + static_cast<size_t>(v[i])); };
  try {
    lstmBackward(*instanceOf(env),
                 LstmBackwardArgs{at(0), at(1), at(2), at(3), at(4), at(5), static_cast<int>(seqLen), static_cast<int>(rows), static_cast<int>(hidden)});
  } catch (const std::bad_alloc&) {
    return throwError(env, "lstmBackward: out of memory for packed weights");
  }
  return nullptr;
#else
  return throwError(env, "lstmBackward: this build has no native kernels for this CPU");
#endif
}

/**
 * adamw(memory, p, g, m, v, pOut, mOut, vOut, n, decay, mom, oneMinusMom, sqrMom, oneMinusSqrMom,
 * debias2, eps, stepSize): one AdamW step over n float32 parameters at byte offsets of `memory`
 * (adamwRange), the elements split over the pool; the scalars are rounded to float32.
 */
napi_value AdamW(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[17];
  char* bytes = nullptr;
  double limit = 0;
  double v[16];
  if (!readCall(env, info, "adamw", 17, args, &bytes, &limit, v, 16)) return nullptr;
  const double n = v[7];
  const double sizes[7] = {n, n, n, n, n, n, n};
  const bool optional[7] = {false, false, false, false, false, false, false};
  if (!isCount(n) || !operandsFit(v, sizes, optional, 7, limit)) return throwError(env, "adamw: operands do not lie inside the memory (offsets, size)");
  auto at = [&](int i) { return reinterpret_cast<float*>(bytes + static_cast<size_t>(v[i])); };
  const AdamWScalars scalars{static_cast<float>(v[8]),  static_cast<float>(v[9]),  static_cast<float>(v[10]), static_cast<float>(v[11]),
                             static_cast<float>(v[12]), static_cast<float>(v[13]), static_cast<float>(v[14]), static_cast<float>(v[15])};
  Pool& pool = instanceOf(env)->pool;
  const int parts = partsFor(pool, n * 4);
  const size_t count = static_cast<size_t>(n);
  pool.run(parts, [&](int id) {
    if (id >= parts) return;
    // Parts in whole vectors: only the last one has a scalar tail.
    const size_t vectors = (count + 7) / 8;
    const size_t i0 = std::min(count, vectors * id / parts * 8), i1 = std::min(count, vectors * (id + 1) / parts * 8);
    if (i0 < i1) adamwRange(at(0), at(1), at(2), at(3), at(4), at(5), at(6), scalars, i0, i1);
  });
  return nullptr;
#else
  return throwError(env, "adamw: this build has no native kernels for this CPU");
#endif
}

/** columnSum(memory, x, out, rows, cols): out [cols] = Σ_rows x [rows, cols] (columnSumRange), columns split over the pool. */
napi_value ColumnSum(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[5];
  char* bytes = nullptr;
  double limit = 0;
  double v[4];
  if (!readCall(env, info, "columnSum", 5, args, &bytes, &limit, v, 4)) return nullptr;
  const double rows = v[2], cols = v[3];
  const double sizes[2] = {rows * cols, cols};
  const bool optional[2] = {false, false};
  if (!(isCount(rows) && isCount(cols) && rows * cols < 2147483647.0) || !operandsFit(v, sizes, optional, 2, limit)) {
    return throwError(env, "columnSum: operands do not lie inside the memory (offsets, shape)");
  }
  const float* x = reinterpret_cast<const float*>(bytes + static_cast<size_t>(v[0]));
  float* out = reinterpret_cast<float*>(bytes + static_cast<size_t>(v[1]));
  Pool& pool = instanceOf(env)->pool;
  const int r = static_cast<int>(rows), c = static_cast<int>(cols);
  const int parts = partsFor(pool, rows * cols * 2);
  std::vector<double> sums;
  try {
    sums.resize(static_cast<size_t>(c));
  } catch (const std::bad_alloc&) {
    return throwError(env, "columnSum: out of memory");
  }
  pool.run(parts, [&](int id) {
    if (id >= parts) return;
    auto [c0, c1] = share(c, 8, id, parts);
    if (c0 < c1) columnSumRange(x, out, sums.data(), r, c, c0, c1);
  });
  return nullptr;
#else
  return throwError(env, "columnSum: this build has no native kernels for this CPU");
#endif
}

/**
 * crossEntropyGrad(memory, p, targets, dy, out, rows, classes): out = (p − onehot(targets))·dy per
 * row (crossEntropyGradRows); p and out float32 [rows, classes], targets int32 [rows], dy float32 [rows].
 */
napi_value CrossEntropyGrad(napi_env env, napi_callback_info info) {
#if ULMFIT_X64
  napi_value args[7];
  char* bytes = nullptr;
  double limit = 0;
  double v[6];
  if (!readCall(env, info, "crossEntropyGrad", 7, args, &bytes, &limit, v, 6)) return nullptr;
  const double rows = v[4], classes = v[5];
  const double sizes[4] = {rows * classes, rows, rows, rows * classes};
  const bool optional[4] = {false, false, false, false};
  if (!(isCount(rows) && isCount(classes) && rows * classes < 2147483647.0) || !operandsFit(v, sizes, optional, 4, limit)) {
    return throwError(env, "crossEntropyGrad: operands do not lie inside the memory (offsets, shape)");
  }
  const float* p = reinterpret_cast<const float*>(bytes + static_cast<size_t>(v[0]));
  const int32_t* targets = reinterpret_cast<const int32_t*>(bytes + static_cast<size_t>(v[1]));
  const float* dy = reinterpret_cast<const float*>(bytes + static_cast<size_t>(v[2]));
  float* out = reinterpret_cast<float*>(bytes + static_cast<size_t>(v[3]));
  const int c = static_cast<int>(classes);
  runRows(instanceOf(env)->pool, static_cast<int>(rows), rows * classes * 2, [&](int r0, int r1) { crossEntropyGradRows(p, targets, dy, out, r0, r1, c); });
  return nullptr;
#else
  return throwError(env, "crossEntropyGrad: this build has no native kernels for this CPU");
#endif
}

void FinalizeInstance(napi_env, void* data, void*) { delete static_cast<Instance*>(data); }

napi_value Init(napi_env env, napi_value exports) {
  // Block sizes for tuning runs only (tools/tune-native.mjs): "KC,MC,NC_PANELS"; read once, before
  // any thread of any instance multiplies.
  static std::once_flag blockingRead;
  std::call_once(blockingRead, [] {
    const char* blocking = std::getenv("ULMFIT_NATIVE_BLOCKING");
    int kc = 0, mc = 0, nc = 0;
    if (blocking != nullptr && std::sscanf(blocking, "%d,%d,%d", &kc, &mc, &nc) == 3 && kc > 0 && mc > 0 && mc % MR == 0 && nc > 0) {
      KC = kc;
      MC = mc;
      NC_PANELS = nc;
    }
  });
  auto* inst = new (std::nothrow) Instance();
  if (inst == nullptr) return throwError(env, "out of memory");
  napi_value abiVersion;
  napi_create_int32(env, ABI_VERSION, &abiVersion);
  napi_set_instance_data(env, inst, FinalizeInstance, nullptr);
  const napi_property_descriptor properties[] = {
      {"available", nullptr, Available, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gemm", nullptr, Gemm, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"softmax", nullptr, Softmax, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"lstmForward", nullptr, LstmForward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"lstmBackward", nullptr, LstmBackward, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"adamw", nullptr, AdamW, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"columnSum", nullptr, ColumnSum, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"crossEntropyGrad", nullptr, CrossEntropyGrad, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, nullptr, nullptr, nullptr, abiVersion, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(properties) / sizeof(properties[0]), properties);
  return exports;
}

}  // namespace

NAPI_MODULE_INIT() { return Init(env, exports); }
