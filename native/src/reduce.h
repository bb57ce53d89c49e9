// Row and column reductions: the softmax with its log-sum-exp, the cross-entropy's gradient, and
// column sums (the bias gradients).
#pragma once

#include <cstdint>

#include "common.h"

namespace ulmfit {

/** Rows [r0, r1) of p = softmax(z) ([rows, cols]) and lse = log sum exp(z) per row; a row with a NaN or +inf gives NaN. */
ULMFIT_AVX2 void softmaxRows(const float* z, float* p, float* lse, int r0, int r1, int cols);
/** Columns [c0, c1) of out = Σ_rows x (x [rows, cols]), accumulated in float64 in sums[c0, c1). */
ULMFIT_AVX2 void columnSumRange(const float* x, float* out, double* sums, int rows, int cols, int c0, int c1);
/** Rows [r0, r1) of the softmax cross-entropy's gradient out = (p − onehot(targets))·dy. */
ULMFIT_AVX2 void crossEntropyGradRows(const float* p, const int32_t* targets, const float* dy, float* out, int r0, int r1, int classes);

}  // namespace ulmfit
