// The WebAssembly text of ulmfit's own wasm kernels (src/compute/wasm-kernels.ts says where they are
// used): a float32 matrix multiply, a column sum, the LSTM's per-time-step element-wise work, the
// Adam step, and the softmax cross-entropy's row max and gradient. `node tools/gen-wasm-kernels.mjs` compiles it into src/compute/wasm-kernels-binary.ts,
// and test/compute/wasm-kernels.test.ts checks that the committed binary is this text compiled.
//
// The matmul: C[M, N] = A[M, K] · B[K, N], all row-major float32 in the memory that TF.js's wasm backend uses
// (the module imports it), with B first copied ("packed") into panels of NR = 8 columns: panel p
// holds B[k, 8p .. 8p+8) for k = 0..K-1 contiguously, zero-padded past N. The micro-kernel keeps
// an MR x 8 block of C in 2·MR SIMD registers and walks K once: per k it loads the panel's two
// vectors and, per row, broadcasts A[i, k] and does two fused multiply-adds
// (f32x4.relaxed_madd, an FMA on x64 CPUs with FMA3). Without FMA a multiply-add is two
// instructions, which is what holds XNNPACK's wasm kernels (no relaxed SIMD in TF.js 4.22's
// build) at ~20 GFLOP/s on these CPUs; see docs/speed-benchmark.md.
//
// Loop shapes were picked by measurement (V8 11.3 / Node 20): a loop tested at the top and a
// constant pointer step for the panel ran fastest; unrolling k or a do-while loop ran slower.

export const MR = 6; // rows of C per micro-kernel call (12 accumulators + 2 B vectors + 1 broadcast = 15 of 16 xmm registers)
export const NR = 8; // columns per panel (two f32x4 vectors)

const madd = (acc, a, b) =>
  `(local.set ${acc} (f32x4.relaxed_madd (local.get ${a}) (local.get ${b}) (local.get ${acc})))`;

/** kernel $k<rows>(a, bp, c, K, lda, ldc): C[0..rows, 0..8) = A[0..rows, 0..K) · panel; byte addresses and strides. */
function microKernel(rows) {
  const locals = [];
  for (let r = 0; r < rows; r++) locals.push(`(local $c${r}_0 v128) (local $c${r}_1 v128)`);
  locals.push('(local $b0 v128) (local $b1 v128) (local $av v128) (local $end i32)');
  for (let r = 0; r < rows; r++) locals.push(`(local $a${r} i32)`);
  const body = [];
  for (let r = 0; r < rows; r++)
    body.push(`(local.set $a${r} (i32.add (local.get $a) (i32.mul (local.get $lda) (i32.const ${r}))))`);
  body.push('(local.set $end (i32.add (local.get $a) (i32.shl (local.get $K) (i32.const 2))))');
  body.push('(block $done (loop $k');
  body.push('  (br_if $done (i32.ge_u (local.get $a0) (local.get $end)))');
  body.push('  (local.set $b0 (v128.load (local.get $bp)))');
  body.push('  (local.set $b1 (v128.load offset=16 (local.get $bp)))');
  for (let r = 0; r < rows; r++) {
    body.push(`  (local.set $av (v128.load32_splat (local.get $a${r})))`);
    body.push(`  ${madd(`$c${r}_0`, '$av', '$b0')}`);
    body.push(`  ${madd(`$c${r}_1`, '$av', '$b1')}`);
    body.push(`  (local.set $a${r} (i32.add (local.get $a${r}) (i32.const 4)))`);
  }
  body.push(`  (local.set $bp (i32.add (local.get $bp) (i32.const ${NR * 4})))`);
  body.push('  (br $k)))');
  for (let r = 0; r < rows; r++) {
    body.push(`(v128.store (local.get $c) (local.get $c${r}_0))`);
    body.push(`(v128.store offset=16 (local.get $c) (local.get $c${r}_1))`);
    body.push('(local.set $c (i32.add (local.get $c) (local.get $ldc)))');
  }
  return `(func $k${rows} (param $a i32) (param $bp i32) (param $c i32) (param $K i32) (param $lda i32) (param $ldc i32)
  ${locals.join(' ')}
  ${body.join('\n  ')})`;
}

/**
 * pack(b, bp, K, N, ldb): the K x N block of B at b (rows ldb bytes apart) into ceil(N / 8)
 * panels of K x 8 at bp, zero-padded.
 */
const pack = `(func (export "pack") (param $b i32) (param $bp i32) (param $K i32) (param $N i32) (param $ldb i32)
  (local $j i32) (local $k i32) (local $src i32) (local $w i32) (local $q i32)
  (block $panels_done (loop $panels
    (br_if $panels_done (i32.ge_u (local.get $j) (local.get $N)))
    (local.set $src (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
    (local.set $w (i32.sub (local.get $N) (local.get $j)))
    (local.set $k (i32.const 0))
    (if (i32.ge_u (local.get $w) (i32.const ${NR}))
      (then
        (block $rows_done (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $k) (local.get $K)))
          (v128.store (local.get $bp) (v128.load (local.get $src)))
          (v128.store offset=16 (local.get $bp) (v128.load offset=16 (local.get $src)))
          (local.set $bp (i32.add (local.get $bp) (i32.const ${NR * 4})))
          (local.set $src (i32.add (local.get $src) (local.get $ldb)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $rows))))
      (else
        (block $rows_done (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $k) (local.get $K)))
          (v128.store (local.get $bp) (v128.const i32x4 0 0 0 0))
          (v128.store offset=16 (local.get $bp) (v128.const i32x4 0 0 0 0))
          (local.set $q (i32.const 0))
          (block $cols_done (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $q) (local.get $w)))
            (f32.store (i32.add (local.get $bp) (i32.shl (local.get $q) (i32.const 2)))
              (f32.load (i32.add (local.get $src) (i32.shl (local.get $q) (i32.const 2)))))
            (local.set $q (i32.add (local.get $q) (i32.const 1)))
            (br $cols)))
          (local.set $bp (i32.add (local.get $bp) (i32.const ${NR * 4})))
          (local.set $src (i32.add (local.get $src) (local.get $ldb)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $rows)))))
    (local.set $j (i32.add (local.get $j) (i32.const ${NR})))
    (br $panels))))`;

/**
 * gemm(a, bp, c, M, N, K, ldc, tile): C = A · B with B packed at bp; A's rows are K floats apart,
 * C's ldc bytes apart (so a caller can compute a block of columns of a wider C). Panels outer, row blocks inner, so
 * a panel (K x 8 floats) is reused from cache by every row block. A last panel narrower than 8
 * columns is computed into `tile` (MR x 8 floats of scratch) and its valid columns copied out.
 */
function driver() {
  const calls = [];
  for (let rows = MR; rows >= 1; rows--) {
    calls.push(
      `(if (i32.eq (local.get $rows) (i32.const ${rows})) (then (call $k${rows} (local.get $ap) (local.get $bpp) (local.get $cp) (local.get $K) (local.get $lda) (local.get $ldcp))))`,
    );
  }
  return `(func (export "gemm") (param $a i32) (param $bp i32) (param $c i32) (param $M i32) (param $N i32) (param $K i32) (param $ldc i32) (param $tile i32)
  (local $lda i32) (local $ldcp i32) (local $j i32) (local $w i32) (local $i i32) (local $rows i32)
  (local $ap i32) (local $bpp i32) (local $cp i32) (local $r i32) (local $q i32) (local $nblocks i32)
  (local.set $lda (i32.shl (local.get $K) (i32.const 2)))
  (block $panels_done (loop $panels
    (br_if $panels_done (i32.ge_u (local.get $j) (local.get $N)))
    (local.set $w (i32.sub (local.get $N) (local.get $j)))
    (local.set $bpp (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $j) (local.get $K)) (i32.const 2))))
    (local.set $i (i32.const 0))
    (block $blocks_done (loop $blocks
      (br_if $blocks_done (i32.ge_u (local.get $i) (local.get $M)))
      ;; the rows left split evenly over the fewest blocks of at most MR (32 rows: 6 6 5 5 5 5,
      ;; not 6 6 6 6 6 2: a 2-row block does 4 multiply-adds per 2 loads of B)
      (local.set $rows (i32.sub (local.get $M) (local.get $i)))
      (local.set $nblocks (i32.div_u (i32.add (local.get $rows) (i32.const ${MR - 1})) (i32.const ${MR})))
      (local.set $rows (i32.div_u (i32.add (local.get $rows) (i32.sub (local.get $nblocks) (i32.const 1))) (local.get $nblocks)))
      (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $cp (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
      (local.set $ldcp (local.get $ldc))
      (if (i32.lt_u (local.get $w) (i32.const ${NR}))
        (then (local.set $cp (local.get $tile)) (local.set $ldcp (i32.const ${NR * 4}))))
      ${calls.join('\n      ')}
      (if (i32.lt_u (local.get $w) (i32.const ${NR}))
        (then
          (local.set $r (i32.const 0))
          (block $copy_done (loop $copy
            (br_if $copy_done (i32.ge_u (local.get $r) (local.get $rows)))
            (local.set $q (i32.const 0))
            (block $cols_done (loop $cols
              (br_if $cols_done (i32.ge_u (local.get $q) (local.get $w)))
              (f32.store
                (i32.add (i32.add (local.get $c) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $ldc))) (i32.shl (i32.add (local.get $j) (local.get $q)) (i32.const 2)))
                (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.mul (local.get $r) (i32.const ${NR})) (local.get $q)) (i32.const 2)))))
              (local.set $q (i32.add (local.get $q) (i32.const 1)))
              (br $cols)))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $copy)))))
      (local.set $i (i32.add (local.get $i) (local.get $rows)))
      (br $blocks)))
    (local.set $j (i32.add (local.get $j) (i32.const ${NR})))
    (br $panels))))`;
}

/**
 * colsum(x, acc, out, rows, cols): out[j] = Σ_i x[i, j] (float32 [rows, cols] -> [cols]),
 * accumulated in float64 at acc (cols doubles of scratch, 8-byte aligned), row after row so x is
 * read in order. The bias gradients of the LSTM layers and the decoder.
 */
const colsum = `(func (export "colsum") (param $x i32) (param $acc i32) (param $out i32) (param $rows i32) (param $cols i32)
  (local $i i32) (local $j i32) (local $p i32) (local $q i32) (local $wide i32) (local $v v128)
  (local.set $wide (i32.and (local.get $cols) (i32.const -4)))
  (local.set $j (i32.const 0))
  (block $zero_done (loop $zero
    (br_if $zero_done (i32.ge_u (local.get $j) (local.get $cols)))
    (f64.store (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))) (f64.const 0))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br $zero)))
  (local.set $p (local.get $x))
  (block $rows_done (loop $row
    (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
    (local.set $q (local.get $acc))
    (local.set $j (i32.const 0))
    (block $wide_done (loop $wide_cols
      (br_if $wide_done (i32.ge_u (local.get $j) (local.get $wide)))
      (local.set $v (v128.load (local.get $p)))
      (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 (local.get $q)
        (f64x2.add (v128.load offset=16 (local.get $q))
          (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
      (local.set $p (i32.add (local.get $p) (i32.const 16)))
      (local.set $q (i32.add (local.get $q) (i32.const 32)))
      (local.set $j (i32.add (local.get $j) (i32.const 4)))
      (br $wide_cols)))
    (block $tail_done (loop $tail
      (br_if $tail_done (i32.ge_u (local.get $j) (local.get $cols)))
      (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.promote_f32 (f32.load (local.get $p)))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (local.set $q (i32.add (local.get $q) (i32.const 8)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $tail)))
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br $row)))
  (local.set $j (i32.const 0))
  (block $out_done (loop $copy
    (br_if $out_done (i32.ge_u (local.get $j) (local.get $cols)))
    (f32.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2)))
      (f32.demote_f64 (f64.load (i32.add (local.get $acc) (i32.shl (local.get $j) (i32.const 3))))))
    (local.set $j (i32.add (local.get $j) (i32.const 1)))
    (br $copy))))`;

/**
 * An element-wise function over `rows` rows of the LSTM's [rows, H] and [rows, 4H] tensors,
 * SIMD four columns at a time with a scalar loop for H % 4. Each operand is a pointer parameter
 * plus where its columns start: `stride` 1 (a [rows, H] tensor) or 4 (a [rows, 4H] one, its gate
 * `gate` at columns gate·H). `scalars` are float32 parameters after the pointers. `steps` are
 * ['let', name, expr] and ['store', operand, expr]; an expr is an operand, let or scalar name, a
 * number, [op, x, y] with op add | sub | mul | div, or ['sqrt', x]. Every f32 operation is the one
 * TF.js would do, in the same order, so the results are the same bits.
 */
function elementwise(name, operands, steps, scalars = []) {
  const params = [
    ...operands.map((o) => `(param $${o.name} i32)`),
    ...scalars.map((n) => `(param $${n} f32)`),
  ].join(' ');
  const lets = steps.filter((st) => st[0] === 'let').map((st) => st[1]);
  const expr = (e, vector) => {
    if (typeof e === 'number') return vector ? `(f32x4.splat (f32.const ${e}))` : `(f32.const ${e})`;
    if (typeof e === 'string') {
      if (lets.includes(e)) return `(local.get $${vector ? 'v' : 's'}_${e})`;
      if (scalars.includes(e)) return vector ? `(local.get $splat_${e})` : `(local.get $${e})`;
      return `(${vector ? 'v128' : 'f32'}.load (i32.add (local.get $p_${e}) (local.get $j4)))`;
    }
    const [op, x, y] = e;
    if (op === 'sqrt') return `(${vector ? 'f32x4' : 'f32'}.sqrt ${expr(x, vector)})`;
    return `(${vector ? 'f32x4' : 'f32'}.${op} ${expr(x, vector)} ${expr(y, vector)})`;
  };
  const body = (vector) =>
    steps
      .map(([kind, target, e]) =>
        kind === 'let'
          ? `(local.set $${vector ? 'v' : 's'}_${target} ${expr(e, vector)})`
          : `(${vector ? 'v128' : 'f32'}.store (i32.add (local.get $p_${target}) (local.get $j4)) ${expr(e, vector)})`,
      )
      .join('\n        ');
  const rowPointers = operands
    .map(
      (o) =>
        `(local.set $p_${o.name} (i32.add (local.get $${o.name}) (i32.add (i32.mul (local.get $r) (local.get $row${o.stride})) (i32.mul (local.get $gateBytes) (i32.const ${o.gate ?? 0})))))`,
    )
    .join('\n    ');
  return `(func (export "${name}") ${params} (param $rows i32) (param $H i32)
  (local $r i32) (local $j4 i32) (local $end i32) (local $wideEnd i32) (local $gateBytes i32) (local $row1 i32) (local $row4 i32)
  ${operands.map((o) => `(local $p_${o.name} i32)`).join(' ')}
  ${lets.map((l) => `(local $v_${l} v128) (local $s_${l} f32)`).join(' ')}
  ${scalars.map((n) => `(local $splat_${n} v128)`).join(' ')}
  ${scalars.map((n) => `(local.set $splat_${n} (f32x4.splat (local.get $${n})))`).join('\n  ')}
  (local.set $gateBytes (i32.shl (local.get $H) (i32.const 2)))
  (local.set $row1 (local.get $gateBytes))
  (local.set $row4 (i32.shl (local.get $gateBytes) (i32.const 2)))
  (local.set $end (local.get $gateBytes))
  (local.set $wideEnd (i32.and (local.get $end) (i32.const -16)))
  (block $rows_done (loop $row
    (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
    ${rowPointers}
    (local.set $j4 (i32.const 0))
    (block $wide_done (loop $wide
      (br_if $wide_done (i32.ge_u (local.get $j4) (local.get $wideEnd)))
        ${body(true)}
      (local.set $j4 (i32.add (local.get $j4) (i32.const 16)))
      (br $wide)))
    (block $tail_done (loop $tail
      (br_if $tail_done (i32.ge_u (local.get $j4) (local.get $end)))
        ${body(false)}
      (local.set $j4 (i32.add (local.get $j4) (i32.const 4)))
      (br $tail)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $row))))`;
}

/**
 * The LSTM's per-time-step element-wise work (src/compute/lstm.ts: cellStep, lstmBackward), fused.
 * Sigmoids stay TF.js's (XNNPACK's vectorised approximation), so every number is unchanged.
 * Forward, from s = σ(gate pre-activations) [rows, 4H] (i, f, σ(2 z_g), o) and 2c_{t-1}:
 *   lstm_cell: 2c_t = f·2c_{t-1} + i·(4σ(2 z_g) − 2)
 *   lstm_out:  tanh(c_t) = 2σ(2c_t) − 1,  h_t = o·tanh(c_t)
 * Backward, one step of lstmBackward (dh = dy_t + dz_{t+1}·W_hh, the matmul done before):
 *   lstm_back: dc = dh·A + carry; dz = [dc, dc, dc, dh]·B (gate by gate); carry' = dc·f
 *   lstm_back_last: the same for the last step, where there is no dz_{t+1} and no carry
 *   lstm_coef: every step's coefficients at once (lstmBackward), g = 2σ(2 z_g) − 1, c_{t-1} = 2c_{t-1}·0.5:
 *     A = o·(1 − tanh²c_t);  B = [g·i(1−i), c_{t-1}·f(1−f), i·(1 − g²), tanh(c_t)·o(1−o)];  forget = f
 */
const lstmKernels = [
  elementwise(
    'lstm_cell',
    [
      { name: 's_i', stride: 4, gate: 0 },
      { name: 's_f', stride: 4, gate: 1 },
      { name: 's_g', stride: 4, gate: 2 },
      { name: 'c2_prev', stride: 1 },
      { name: 'c2', stride: 1 },
    ],
    [['store', 'c2', ['add', ['mul', 's_f', 'c2_prev'], ['mul', 's_i', ['sub', ['mul', 's_g', 4], 2]]]]],
  ),
  elementwise(
    'lstm_out',
    [
      { name: 's_o', stride: 4, gate: 3 },
      { name: 'sigmoid_c2', stride: 1 },
      { name: 'tanh_c', stride: 1 },
      { name: 'h', stride: 1 },
    ],
    [
      ['let', 't', ['sub', ['mul', 'sigmoid_c2', 2], 1]],
      ['store', 'tanh_c', 't'],
      ['store', 'h', ['mul', 's_o', 't']],
    ],
  ),
  elementwise(
    'lstm_back',
    [
      { name: 'dy', stride: 1 },
      { name: 'mm', stride: 1 },
      { name: 'coef_a', stride: 1 },
      { name: 'b_i', stride: 4, gate: 0 },
      { name: 'b_f', stride: 4, gate: 1 },
      { name: 'b_g', stride: 4, gate: 2 },
      { name: 'b_o', stride: 4, gate: 3 },
      { name: 'forget', stride: 1 },
      { name: 'carry', stride: 1 },
      { name: 'dz_i', stride: 4, gate: 0 },
      { name: 'dz_f', stride: 4, gate: 1 },
      { name: 'dz_g', stride: 4, gate: 2 },
      { name: 'dz_o', stride: 4, gate: 3 },
      { name: 'carry_out', stride: 1 },
    ],
    [
      ['let', 'dh', ['add', 'dy', 'mm']],
      ['let', 'dc', ['add', ['mul', 'dh', 'coef_a'], 'carry']],
      ['store', 'dz_i', ['mul', 'dc', 'b_i']],
      ['store', 'dz_f', ['mul', 'dc', 'b_f']],
      ['store', 'dz_g', ['mul', 'dc', 'b_g']],
      ['store', 'dz_o', ['mul', 'dh', 'b_o']],
      ['store', 'carry_out', ['mul', 'dc', 'forget']],
    ],
  ),
  elementwise(
    'lstm_coef',
    [
      { name: 's_i', stride: 4, gate: 0 },
      { name: 's_f', stride: 4, gate: 1 },
      { name: 's_g', stride: 4, gate: 2 },
      { name: 's_o', stride: 4, gate: 3 },
      { name: 'c2_prev', stride: 1 },
      { name: 'tanh_c', stride: 1 },
      { name: 'coef_a', stride: 1 },
      { name: 'b_i', stride: 4, gate: 0 },
      { name: 'b_f', stride: 4, gate: 1 },
      { name: 'b_g', stride: 4, gate: 2 },
      { name: 'b_o', stride: 4, gate: 3 },
      { name: 'forget', stride: 1 },
    ],
    [
      ['let', 'tanh_g', ['sub', ['mul', 's_g', 2], 1]],
      ['let', 'c_prev', ['mul', 'c2_prev', 0.5]],
      ['store', 'coef_a', ['mul', 's_o', ['sub', 1, ['mul', 'tanh_c', 'tanh_c']]]],
      ['store', 'b_i', ['mul', 'tanh_g', ['mul', 's_i', ['sub', 1, 's_i']]]],
      ['store', 'b_f', ['mul', 'c_prev', ['mul', 's_f', ['sub', 1, 's_f']]]],
      ['store', 'b_g', ['mul', 's_i', ['sub', 1, ['mul', 'tanh_g', 'tanh_g']]]],
      ['store', 'b_o', ['mul', 'tanh_c', ['mul', 's_o', ['sub', 1, 's_o']]]],
      ['store', 'forget', 's_f'],
    ],
  ),
  elementwise(
    'lstm_back_last',
    [
      { name: 'dy', stride: 1 },
      { name: 'coef_a', stride: 1 },
      { name: 'b_i', stride: 4, gate: 0 },
      { name: 'b_f', stride: 4, gate: 1 },
      { name: 'b_g', stride: 4, gate: 2 },
      { name: 'b_o', stride: 4, gate: 3 },
      { name: 'forget', stride: 1 },
      { name: 'dz_i', stride: 4, gate: 0 },
      { name: 'dz_f', stride: 4, gate: 1 },
      { name: 'dz_g', stride: 4, gate: 2 },
      { name: 'dz_o', stride: 4, gate: 3 },
      { name: 'carry_out', stride: 1 },
    ],
    [
      ['let', 'dc', ['mul', 'dy', 'coef_a']],
      ['store', 'dz_i', ['mul', 'dc', 'b_i']],
      ['store', 'dz_f', ['mul', 'dc', 'b_f']],
      ['store', 'dz_g', ['mul', 'dc', 'b_g']],
      ['store', 'dz_o', ['mul', 'dy', 'b_o']],
      ['store', 'carry_out', ['mul', 'dc', 'forget']],
    ],
  ),
];

/**
 * adamw(p, g, m, v, pOut, mOut, vOut, decay, mom, 1-mom, sqrMom, 1-sqrMom, debias2, eps, step, 1, n):
 * one fastai Adam step (decoupled weight decay) over n parameters in one pass, the operations
 * of src/train/optimizer.ts stepParam in its order:
 *   p·decay − (m' / (sqrt(v' / debias2) + eps))·step,  m' = m·mom + g·(1−mom),  v' = v·sqrMom + g²·(1−sqrMom)
 */
const adamw = elementwise(
  'adamw',
  [
    { name: 'p', stride: 1 },
    { name: 'g', stride: 1 },
    { name: 'm', stride: 1 },
    { name: 'v', stride: 1 },
    { name: 'p_out', stride: 1 },
    { name: 'm_out', stride: 1 },
    { name: 'v_out', stride: 1 },
  ],
  [
    ['let', 'grad', 'g'],
    ['let', 'mNew', ['add', ['mul', 'm', 'mom'], ['mul', 'grad', 'oneMinusMom']]],
    ['let', 'vNew', ['add', ['mul', 'v', 'sqrMom'], ['mul', ['mul', 'grad', 'grad'], 'oneMinusSqrMom']]],
    ['store', 'm_out', 'mNew'],
    ['store', 'v_out', 'vNew'],
    [
      'store',
      'p_out',
      [
        'sub',
        ['mul', 'p', 'decay'],
        ['mul', ['div', 'mNew', ['add', ['sqrt', ['div', 'vNew', 'debias2']], 'eps']], 'stepSize'],
      ],
    ],
  ],
  ['decay', 'mom', 'oneMinusMom', 'sqrMom', 'oneMinusSqrMom', 'debias2', 'eps', 'stepSize'],
);

/**
 * rowmax(x, out, rows, cols): out[r] = max_j x[r, j] (float32 [rows, cols] -> [rows]), four
 * columns at a time. The cross-entropy's max over the vocabulary (src/model/ops.ts).
 */
const rowmax = `(func (export "rowmax") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
  (local $r i32) (local $p i32) (local $end i32) (local $wideEnd i32) (local $v v128) (local $m f32)
  (local.set $p (local.get $x))
  (block $rows_done (loop $row
    (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $cols) (i32.const 2))))
    (local.set $wideEnd (i32.add (local.get $p) (i32.shl (i32.and (local.get $cols) (i32.const -4)) (i32.const 2))))
    (local.set $m (f32.const -inf))
    (if (i32.lt_u (local.get $p) (local.get $wideEnd))
      (then
        (local.set $v (v128.load (local.get $p)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (block $wide_done (loop $wide
          (br_if $wide_done (i32.ge_u (local.get $p) (local.get $wideEnd)))
          (local.set $v (f32x4.max (local.get $v) (v128.load (local.get $p))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br $wide)))
        (local.set $m (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
          (f32.max (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))))
    (block $tail_done (loop $tail
      (br_if $tail_done (i32.ge_u (local.get $p) (local.get $end)))
      (local.set $m (f32.max (local.get $m) (f32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $tail)))
    (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2))) (local.get $m))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $row))))`;

/**
 * ce_grad(p, targets, dy, out, rows, classes): the softmax cross-entropy's gradient
 * out[r, j] = (p[r, j] − [j = targets[r]])·dy[r] in one pass (the TF.js ops it replaces: oneHot,
 * sub, mul; p − 0 is p, so the numbers are the same). A target outside [0, classes) has no 1,
 * as in oneHot.
 */
const ceGrad = `(func (export "ce_grad") (param $p i32) (param $targets i32) (param $dy i32) (param $out i32) (param $rows i32) (param $classes i32)
  (local $r i32) (local $j4 i32) (local $end i32) (local $wideEnd i32) (local $d f32) (local $dv v128) (local $t i32) (local $at i32)
  (local.set $end (i32.shl (local.get $classes) (i32.const 2)))
  (local.set $wideEnd (i32.and (local.get $end) (i32.const -16)))
  (block $rows_done (loop $row
    (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
    (local.set $d (f32.load (i32.add (local.get $dy) (i32.shl (local.get $r) (i32.const 2)))))
    (local.set $dv (f32x4.splat (local.get $d)))
    (local.set $j4 (i32.const 0))
    (block $wide_done (loop $wide
      (br_if $wide_done (i32.ge_u (local.get $j4) (local.get $wideEnd)))
      (v128.store (i32.add (local.get $out) (local.get $j4)) (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j4))) (local.get $dv)))
      (local.set $j4 (i32.add (local.get $j4) (i32.const 16)))
      (br $wide)))
    (block $tail_done (loop $tail
      (br_if $tail_done (i32.ge_u (local.get $j4) (local.get $end)))
      (f32.store (i32.add (local.get $out) (local.get $j4)) (f32.mul (f32.load (i32.add (local.get $p) (local.get $j4))) (local.get $d)))
      (local.set $j4 (i32.add (local.get $j4) (i32.const 4)))
      (br $tail)))
    (local.set $t (i32.load (i32.add (local.get $targets) (i32.shl (local.get $r) (i32.const 2)))))
    (if (i32.lt_u (local.get $t) (local.get $classes))
      (then
        (local.set $at (i32.shl (local.get $t) (i32.const 2)))
        (f32.store (i32.add (local.get $out) (local.get $at))
          (f32.mul (f32.sub (f32.load (i32.add (local.get $p) (local.get $at))) (f32.const 1)) (local.get $d)))))
    (local.set $p (i32.add (local.get $p) (local.get $end)))
    (local.set $out (i32.add (local.get $out) (local.get $end)))
    (local.set $r (i32.add (local.get $r) (i32.const 1)))
    (br $row))))`;

/** The whole module's text. */
export function kernelsWat() {
  const kernels = [];
  for (let rows = 1; rows <= MR; rows++) kernels.push(microKernel(rows));
  return `(module
(import "env" "memory" (memory 1))
${kernels.join('\n')}
${pack}
${driver()}
${colsum}
${lstmKernels.join('\n')}
${adamw}
${rowmax}
${ceGrad})
`;
}
