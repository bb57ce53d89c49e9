// One instance per JS realm (main thread, each worker thread): its pool, scratch and cache.
#pragma once

#include "common.h"
#include "threads.h"

namespace ulmfit {

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

}  // namespace ulmfit
