// The WebAssembly text of ulmfit's own wasm kernels (src/wasm/kernels.ts says where they are
// used): a float32 matrix multiply and a column sum. `node tools/gen-wasm-kernels.mjs` compiles it
// into src/wasm/kernels-binary.ts, and test/wasm/kernels.test.ts checks that the committed binary
// is this text compiled.
//
// C[M, N] = A[M, K] · B[K, N], all row-major float32 in the memory that TF.js's wasm backend uses
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

const madd = (acc, a, b) => `(local.set ${acc} (f32x4.relaxed_madd (local.get ${a}) (local.get ${b}) (local.get ${acc})))`;

/** kernel $k<rows>(a, bp, c, K, lda, ldc): C[0..rows, 0..8) = A[0..rows, 0..K) · panel; byte addresses and strides. */
function microKernel(rows) {
  const locals = [];
  for (let r = 0; r < rows; r++) locals.push(`(local $c${r}_0 v128) (local $c${r}_1 v128)`);
  locals.push('(local $b0 v128) (local $b1 v128) (local $av v128) (local $end i32)');
  for (let r = 0; r < rows; r++) locals.push(`(local $a${r} i32)`);
  const body = [];
  for (let r = 0; r < rows; r++) body.push(`(local.set $a${r} (i32.add (local.get $a) (i32.mul (local.get $lda) (i32.const ${r}))))`);
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
    calls.push(`(if (i32.eq (local.get $rows) (i32.const ${rows})) (then (call $k${rows} (local.get $ap) (local.get $bpp) (local.get $cp) (local.get $K) (local.get $lda) (local.get $ldcp))))`);
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

/** The whole module's text. */
export function kernelsWat() {
  const kernels = [];
  for (let rows = 1; rows <= MR; rows++) kernels.push(microKernel(rows));
  return `(module
(import "env" "memory" (memory 1))
${kernels.join('\n')}
${pack}
${driver()}
${colsum})
`;
}
