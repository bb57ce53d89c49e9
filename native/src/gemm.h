// The float32 GEMM: BLIS-style blocking around a 6x16 AVX2/FMA micro-kernel, B packed in 16-column
// panels, split over the instance's pool; and the epilogue (bias, σ) a fused matmul applies.
#pragma once

#include "common.h"
#include "instance.h"

namespace ulmfit {

/**
 * C = op(A) . op(B) (one batch entry), op transposing where asked. `packed` is null when B must be
 * packed now (into `scratch`), `packInto` non-null when it must be packed into a cache slot.
 */
void gemm(Instance& inst, const float* a, bool transposedA, const float* b, bool transposedB, float* c, int m, int k, int n, const float* packed,
          float* packInto);

/** B ([k, n]; or, `transposed`, stored as B^T [n, k]) packed into all its panels, the panels split over the pool. */
void packAll(Pool& pool, const float* b, bool transposed, int k, int n, float* packed);

/**
 * Rows [r0, r1) of C ([rows, n]): C += D (when `addend`: [rows, n], or one [n] row for every row
 * when `addendIsRow`), then C = sigma(C) (when `sigmoid`), sigma(x) = 1 / (1 + e^-x).
 */
ULMFIT_AVX2 void epilogueRows(float* c, const float* addend, bool addendIsRow, bool sigmoid, int r0, int r1, int n);

}  // namespace ulmfit
