#!/usr/bin/env node
// ARM64 smoke test, run by scripts/test-arm64.sh inside the emulated arm64 Node (qemu-aarch64 -cpu cortex-a72 /
// cortex-a76 / max) against prebuilds/linux-arm64/distiq.node. A plain Node script (no vitest: the test runners
// spawn process.execPath, which an x86 kernel cannot exec without binfmt), so it runs anywhere, x64 too.
//
//   EXPECT_ISA=neondot node test/arm64/smoke.js
//
// Checks: the active ISA level (EXPECT_ISA, when set) and the kernel names cpuInfo() reports; then one small
// correctness check per kernel family at every level this CPU runs: int8 GEMM vs a JS reference exactly (u8×s8 and
// s8×s8, zero points, K and N tails), fp32 GEMM vs a float64 JS product within tolerance, quantize → dequantize
// round trip exact (int8 per-tensor, int4 per-channel), distillation loss finite with gradient rows summing to ≈ 0,
// and the int8 GEMM's Promise form (worker thread + native pool) against its sync form.
// Prints one line per check and ends with "SMOKE OK ..." or "SMOKE FAILED ..." (exit status 1).
'use strict';

const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const distiq = require(path.join(root, 'dist'));
const { native, GemmOutKind, QTypeCode } = require(path.join(root, 'dist', 'native'));

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

// Deterministic generator (mulberry32), so a failure reproduces.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const randInt = (r, lo, hi) => lo + Math.floor(r() * (hi - lo + 1));

// ---------------------------------------------------------------------------------------------------------------
const info = distiq.cpuInfo();
console.log(`process.arch=${process.arch} node=${process.versions.node}`);
console.log(`cpuInfo() = ${JSON.stringify(info)}`);
const expected = process.env.EXPECT_ISA;
if (expected) {
  check(info.isa === expected, `active ISA level is ${info.isa} (expected ${expected})`);
  check(info.best === expected, `best ISA level is ${info.best} (expected ${expected})`);
  check(info.kernels.gemm_u8s8 === `gemm_u8s8s32_${expected}`, `int8 GEMM kernel ${info.kernels.gemm_u8s8}`);
  if (process.arch === 'arm64') {
    for (const key of ['gemm_f32', 'quantize', 'dequantize', 'softmax_kl']) {
      check(/_neon$/.test(info.kernels[key]), `${key} kernel ${info.kernels[key]} is a NEON kernel`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
function checkGemmS8(level) {
  const r = rng(11);
  const m = 5, n = 19, k = 37, lda = k + 3, ldc = n + 1;
  const w = Int8Array.from({ length: n * k }, () => randInt(r, -128, 127));
  const packed = native.packWeightsS8(w, n, k, k);
  for (const signed of [false, true]) {
    const a = signed ? new Int8Array(m * lda) : new Uint8Array(m * lda);
    for (let i = 0; i < a.length; i++) a[i] = signed ? randInt(r, -128, 127) : randInt(r, 0, 255);
    if (!signed) a.fill(255, 0, k); // one row of u8 ≥ 128 everywhere: the XOR-0x80 path of neon/neondot
    const za = signed ? -7 : 131, zw = 3;
    const c = new Int32Array(m * ldc);
    native.gemmS8(a, m, lda, za, packed, zw, GemmOutKind.S32, c, ldc, 1, null, null, false, 1, 0);
    let bad = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += (a[i * lda + p] - za) * (w[j * k + p] - zw);
        if (c[i * ldc + j] !== (acc | 0)) bad += 1;
      }
    }
    check(bad === 0, `[${level}] int8 GEMM ${signed ? 's8' : 'u8'}×s8 ${m}x${n}x${k} (${packed.layout} layout) ` +
      `equals the JS reference exactly${bad ? ` — ${bad} mismatches` : ''}`);
  }
}

function checkGemmF32(level) {
  const r = rng(22);
  const m = 7, n = 13, k = 300; // k > 256: more than one K block
  const a = Float32Array.from({ length: m * k }, () => r() * 2 - 1);
  const b = Float32Array.from({ length: n * k }, () => r() * 2 - 1); // B stored [n, k]: transB
  const c = Float32Array.from({ length: m * n }, () => r());
  const c0 = Float32Array.from(c);
  const alpha = 0.5, beta = 2;
  native.gemmF32(false, true, m, n, k, alpha, a, k, b, k, beta, c, n);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[i * k + p] * b[j * k + p];
      const want = alpha * acc + beta * c0[i * n + j];
      worst = Math.max(worst, Math.abs(c[i * n + j] - want) / (1 + Math.abs(want)));
    }
  }
  check(worst < 1e-4, `[${level}] fp32 GEMM ${m}x${n}x${k} A·Bᵀ, α=${alpha} β=${beta} within 1e-4 of float64 ` +
    `(worst relative error ${worst.toExponential(2)})`);
}

function checkQuant(level) {
  const r = rng(33);
  // int8 per-tensor: x = s·(q − z) with s a power of two, so quantize ∘ dequantize is exact both ways.
  {
    const count = 101, s = 0.125, z = -5;
    const q0 = Int8Array.from({ length: count }, () => randInt(r, -128, 127));
    const x = Float32Array.from(q0, (q) => s * (q - z));
    const q = new Int8Array(count);
    native.quantize(x, 1, 1, count, 0, count, Float32Array.of(s), Int32Array.of(z), QTypeCode.S8, -128, 127, q);
    const back = new Float32Array(count);
    native.dequantize(q, QTypeCode.S8, 1, 1, count, 0, count, Float32Array.of(s), Int32Array.of(z), back);
    check(q.every((v, i) => v === q0[i]) && back.every((v, i) => v === x[i]),
      `[${level}] int8 per-tensor quantize → dequantize round trip is exact (${count} values)`);
  }
  // int4 per-channel on rows of odd length: nibble packing, pad nibbles, per-row scales.
  {
    const rows = 3, cols = 21;
    const scales = Float32Array.of(0.5, 0.25, 2);
    const q0 = Int8Array.from({ length: rows * cols }, () => randInt(r, -8, 7));
    const x = Float32Array.from(q0, (q, e) => scales[Math.floor(e / cols)] * q);
    const bytes = (cols + 1) >> 1;
    const q = new Uint8Array(rows * bytes);
    native.quantize(x, 1, rows, cols, 0, cols, scales, null, QTypeCode.S4, -8, 7, q);
    let ok = true;
    for (let e = 0; e < rows * cols; e++) {
      const row = Math.floor(e / cols), i = e % cols;
      const byte = q[row * bytes + (i >> 1)];
      let nib = i & 1 ? byte >> 4 : byte & 15;
      if (nib >= 8) nib -= 16;
      if (nib !== q0[e]) ok = false;
    }
    for (let row = 0; row < rows; row++) if (q[row * bytes + bytes - 1] >> 4 !== 0) ok = false; // pad nibble 0
    const back = new Float32Array(rows * cols);
    native.dequantize(q, QTypeCode.S4, 1, rows, cols, 0, cols, scales, null, back);
    check(ok && back.every((v, i) => v === x[i]),
      `[${level}] int4 per-channel quantize → dequantize round trip is exact (${rows}x${cols}, packed nibbles)`);
  }
}

function checkSoftmaxKl(level) {
  const r = rng(44);
  const rows = 4, cols = 37;
  const student = Float32Array.from({ length: rows * cols }, () => r() * 8 - 4);
  const teacher = Float32Array.from({ length: rows * cols }, () => r() * 8 - 4);
  const labels = Int32Array.from({ length: rows }, () => randInt(r, 0, cols - 1));
  const loss = new Float32Array(rows);
  const grad = new Float32Array(rows * cols);
  native.softmaxKl(student, rows, cols, teacher, null, null, 0, labels, 2, 0.7, loss, grad, 1);
  const finite = loss.every((v) => Number.isFinite(v) && v > 0);
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += grad[i * cols + j];
    worst = Math.max(worst, Math.abs(s));
  }
  check(finite && worst < 1e-5 && grad.every(Number.isFinite),
    `[${level}] distillation loss (T=2, α=0.7, ${rows}x${cols}) finite and > 0 [${Array.from(loss, (v) => v.toFixed(4))}], ` +
    `gradient rows sum to ≈ 0 (worst |Σ| ${worst.toExponential(2)})`);
}

// The Promise form runs on a libuv worker thread and the native pool: same bits as the sync call.
async function checkGemmS8Async(level) {
  const r = rng(55);
  const m = 33, n = 40, k = 70;
  const a = Uint8Array.from({ length: m * k }, () => randInt(r, 0, 255));
  const w = Int8Array.from({ length: n * k }, () => randInt(r, -128, 127));
  const packed = native.packWeightsS8(w, n, k, k);
  const sync = new Int32Array(m * n), viaPromise = new Int32Array(m * n);
  native.gemmS8(a, m, k, 128, packed, -1, GemmOutKind.S32, sync, n, 1, null, null, false, 1, 0);
  await native.gemmS8Async(a, m, k, 128, packed, -1, GemmOutKind.S32, viaPromise, n, 1, null, null, false, 1, 0);
  check(viaPromise.every((v, i) => v === sync[i]), `[${level}] gemmS8Async ${m}x${n}x${k} equals the sync call`);
}

// ---------------------------------------------------------------------------------------------------------------
async function main() {
  const levels = info.available;
  for (const level of levels) {
    native._setIsa(level);
    const active = distiq.cpuInfo().isa;
    check(active === level, `_setIsa(${level}) → active ${active}`);
    for (const fn of [checkGemmS8, checkGemmS8Async, checkGemmF32, checkQuant, checkSoftmaxKl]) {
      try {
        await fn(level);
      } catch (err) {
        check(false, `[${level}] ${fn.name} threw ${err && err.stack ? err.stack : err}`);
      }
    }
  }
  native._setIsa(info.isa);

  if (failures === 0) {
    console.log(`SMOKE OK arch=${process.arch} isa=${info.isa} levels=${levels.join(',')} gemm_s8=${info.kernels.gemm_u8s8}`);
  } else {
    console.log(`SMOKE FAILED: ${failures} check(s) failed (arch=${process.arch} isa=${info.isa})`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.log(`SMOKE FAILED: ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
});
