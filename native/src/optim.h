// The optimizer's one-pass AdamW step.
#pragma once

#include <cstddef>

#include "common.h"

namespace ulmfit {

/** One AdamW step's float32 scalars (src/wasm/kernels.ts AdamWScalars). */
struct AdamWScalars {
  float decay, mom, oneMinusMom, sqrMom, oneMinusSqrMom, debias2, eps, stepSize;
};

/** Elements [i0, i1) of one AdamW step (optim.cc). */
ULMFIT_AVX2 void adamwRange(const float* p, const float* g, const float* m, const float* v, float* pOut, float* mOut, float* vOut, const AdamWScalars& k,
                size_t i0, size_t i1);

}  // namespace ulmfit
