// The float32 GEMM (gemm.h). The result of every element is the same whatever the thread count:
// threads split the output into disjoint blocks, and each element's sum runs over k in the same
// order (blocks of kc, each block's FMA chain added to the running total).
#include "gemm.h"

#include "simd-math.h"

namespace ulmfit {

/** Block sizes: tools/tune-native.mjs may set them through ULMFIT_NATIVE_BLOCKING (napi.cc Init). */
int KC = 256;
int MC = 96;
int NC_PANELS = 64;

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

void packAll(Pool& pool, const float* b, bool transposed, int k, int n, float* packed) {
  const int panels = (n + NR - 1) / NR;
  const int parts = partsFor(pool, static_cast<double>(k) * n);
  pool.run(parts, [&](int id) {
    if (id >= parts) return;
    auto [p0, p1] = share(panels, 1, id, parts);
    if (p0 < p1) packPanels(b, transposed, k, n, p0, p1, packed);
  });
}

#endif

}  // namespace ulmfit
