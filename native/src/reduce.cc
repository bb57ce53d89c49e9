// The reductions (reduce.h).
#include "reduce.h"

#include "simd-math.h"

namespace ulmfit {

#if ULMFIT_X64

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

#endif

}  // namespace ulmfit
