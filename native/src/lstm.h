// A whole LSTM layer in two calls: the forward pass over T steps, and back-propagation through time.
#pragma once

#include "instance.h"

namespace ulmfit {

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

/** The forward pass over all steps (lstm.cc). */
void lstmForward(Instance& inst, const LstmForwardArgs& f);
/** Back-propagation through time over all steps (lstm.cc). */
void lstmBackward(Instance& inst, const LstmBackwardArgs& b);

}  // namespace ulmfit
