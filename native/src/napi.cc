// The addon's N-API glue: every export checks its arguments (the memory is an ArrayBuffer, every
// operand lies inside it) before a kernel touches the memory, then calls the kernel.
//
// Why native: WebAssembly SIMD is 128 bits wide, so the best wasm kernel does half the
// multiply-adds per cycle that these cores can (docs/speed-benchmark.md). Where this addon does
// not build or the CPU lacks AVX2/FMA, ulmfit keeps its wasm kernels (src/compute/native.ts).
#include <node_api.h>

#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "instance.h"
#include "lstm.h"
#include "optim.h"
#include "reduce.h"
#include "threads.h"

namespace ulmfit {

#if ULMFIT_X64
bool cpuSupported() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
bool cpuSupported() { return false; }
#endif

namespace {

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
}  // namespace ulmfit

NAPI_MODULE_INIT() { return ulmfit::Init(env, exports); }

