/**
 * Conv2d on NCHW tensors: x [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout] → y [N, Cout, Ho, Wo] with
 * Ho = ⌊(H + 2·pad − kh)/stride⌋ + 1 (zero padding; cross-correlation, as in PyTorch). K = Cin·kh·kw, P = Ho·Wo.
 *
 * Stride 1 ("shifted rows", the fast path): samples are taken in chunks of nb (a fixed count per layer shape, so
 * results never depend on the thread count). A chunk is copied, zero-padded, into xp [Cin, nb·Hp·Wp] (channel-major,
 * Hp = H + 2·pad, Wp = W + 2·pad). On this "wide" grid the input of output q = b·Hp·Wp + oh·Wp + ow for kernel tap
 * (i, j) is xp[c, q + i·Wp + j], so im2col is one contiguous copy per row: cols[(c·kh + i)·kw + j, q] =
 * xp[c, q + i·Wp + j] for q < L = (nb − 1)·Hp·Wp + (Ho − 1)·Wp + Wo (columns with ow ≥ Wo or oh ≥ Ho are garbage and
 * never read). Then, through gemmF32:
 * - forward:  y' = W (Cout×K) · cols (K×L) (one GEMM per chunk, k in (c, i, j) order); y[n, o] = y'[o, valid q] + b[o]
 *   (the bits of a GEMM with the bias pre-filled and β = 1: round(acc + b));
 * - backward: dy' = dy on the wide grid (0 at garbage columns); dW += dy' · colsᵀ (transB); db += Σ dy;
 *   dxp[:, q + i·Wp + j] += W[:, :, i, j]ᵀ · dy' (one GEMM per tap, β = 1), then dx = the interior of dxp (without
 *   padding and with one sample per chunk, dx[n] is dxp: the taps add into it directly).
 *   cols are rebuilt in backward (copies are cheaper than keeping N·K·L floats).
 * Other strides: im2col one sample at a time (cols[n] [K, P], kept from forward to backward), same GEMMs.
 *
 * `forwardReLU(x)` (used by Sequential for a Conv2d → ReLU pair) returns max(y, 0) in the same output pass; the
 * following backward then masks dy by y > 0 itself (same bits as the two layers).
 * Default init: PyTorch's (U(±1/√fan_in), fan_in = Cin·kh·kw).
 */
import { gemmF32 } from '../ops/gemm-f32';
import { Rng } from '../tensor/random';
import { scratch, type Tensor } from '../tensor/tensor';
import { expectBoolean, expectInteger } from '../validate';
import { relu as reluOf } from './activations';
import { torchDefaultInit } from './init';
import { Module, NO_GRAD, type ModuleConfig, type Parameter } from './module';
import type { MaxPool2d } from './pool';

/** Floats of cols per chunk on the stride-1 path (about 1 MiB; at least one sample per chunk). */
const CHUNK_FLOATS = 1 << 18;

interface ShiftGeometry {
  N: number; C: number; H: number; W: number; Hp: number; Wp: number; S: number;
  Ho: number; Wo: number; K: number; L: number; nb: number; k: number; pad: number;
}

export interface Conv2dOptions {
  stride?: number;
  padding?: number;
  bias?: boolean;
  rng?: Rng;
}

/** Output size of a window of `k` with `stride` and `pad` over `n` (≤ 0 when the window does not fit). */
export function windowOut(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  private x: Tensor | null = null;
  private y: Tensor | null = null;
  private readonly yBuf = { buf: new Float32Array(0) };
  private readonly dxBuf = { buf: new Float32Array(0) };
  private readonly colsBuf = { buf: new Float32Array(0) };
  private readonly dcolsBuf = { buf: new Float32Array(0) };
  private readonly wideBuf = { buf: new Float32Array(0) };
  private readonly maskedBuf = { buf: new Float32Array(0) };
  private readonly wtBuf = { buf: new Float32Array(0) };
  private readonly dxpBuf = { buf: new Float32Array(0) };
  private relu = false;

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: Conv2dOptions = {}) {
    super();
    expectInteger('inChannels', inChannels, 1);
    expectInteger('outChannels', outChannels, 1);
    expectInteger('kernelSize', kernelSize, 1);
    const stride = options.stride ?? 1, padding = options.padding ?? 0, bias = options.bias ?? true;
    expectInteger('stride', stride, 1);
    expectInteger('padding', padding, 0);
    expectBoolean('bias', bias);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = kernelSize;
    this.stride = stride;
    this.padding = padding;
    this.weight = this.registerParameter('weight', [outChannels, inChannels, kernelSize, kernelSize]);
    this.bias = bias ? this.registerParameter('bias', [outChannels]) : null;
    torchDefaultInit(this.weight.data, this.bias?.data ?? null, options.rng ?? new Rng(0), inChannels * kernelSize * kernelSize);
  }

  forward(x: Tensor): Tensor {
    return this.run(x, false);
  }

  /** max(forward(x), 0) in one output pass; the next backward applies the ReLU mask to dy (see the file doc). */
  forwardReLU(x: Tensor): Tensor {
    return this.run(x, true);
  }

  private run(x: Tensor, relu: boolean): Tensor {
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding;
    const ok = x.rank === 4 && x.dim(1) === C;
    this.expectInput(ok, `[N, ${C}, H, W]`, x);
    const [N, , H, W] = x.shape as [number, number, number, number];
    const Ho = windowOut(H, k, s, pad), Wo = windowOut(W, k, s, pad);
    this.expectInput(Ho >= 1 && Wo >= 1, `[N, ${C}, H, W] with H + 2·${pad} >= ${k} and W + 2·${pad} >= ${k}`, x);
    const y = scratch(this.yBuf, [N, this.outChannels, Ho, Wo]);
    if (s === 1) this.forwardShifted(x, y, relu);
    else this.forwardIm2col(x, y, relu);
    this.x = x;
    this.y = y;
    this.relu = relu;
    return y;
  }

  /** The stride-1 path (file doc): per chunk, xp + cols by row copies, one GEMM, then bias (+ ReLU) into y. */
  private forwardShifted(x: Tensor, y: Tensor, relu: boolean): void {
    const g = this.geometry(x);
    const { Wp, S, Ho, Wo, K, L, nb, N } = g;
    const Co = this.outChannels, P = Ho * Wo, Lc = nb * S;
    const bias = this.bias?.data ?? null;
    const yd = y.data;
    const wide = scratch(this.wideBuf, [Co, Lc]).data;
    for (let n0 = 0; n0 < N; n0 += nb) {
      const cnt = Math.min(nb, N - n0);
      const cols = this.buildCols(x.data, g, n0, cnt);
      const Lk = (cnt - 1) * S + L - (nb - 1) * S;
      gemmF32(this.weight.data, cols, Co, Lk, K, { ldb: Lc, ldc: Lc, out: wide });
      for (let b = 0; b < cnt; b++) {
        for (let o = 0; o < Co; o++) {
          const bo = bias === null ? 0 : bias[o]!; // with no bias, + 0 is exact except for -0 (not produced by ReLU)
          let dst = (n0 + b) * Co * P + o * P;
          for (let oh = 0; oh < Ho; oh++) {
            let src = o * Lc + b * S + oh * Wp;
            if (relu) {
              for (let ow = 0; ow < Wo; ow++) yd[dst++] = reluOf(Math.fround(wide[src++]! + bo));
            } else if (bias !== null) {
              for (let ow = 0; ow < Wo; ow++) yd[dst++] = wide[src++]! + bo;
            } else {
              yd.set(wide.subarray(src, src + Wo), dst);
              dst += Wo;
            }
          }
        }
      }
    }
  }

  /** Chunk geometry of the stride-1 path (nb depends only on the layer and input shape). */
  private geometry(x: Tensor): ShiftGeometry {
    const C = this.inChannels, k = this.kernelSize, pad = this.padding;
    const [N, , H, W] = x.shape as [number, number, number, number];
    const Hp = H + 2 * pad, Wp = W + 2 * pad, S = Hp * Wp;
    const Ho = Hp - k + 1, Wo = Wp - k + 1, K = C * k * k;
    // Chunk: cols of about CHUNK_FLOATS floats (≥ 1 sample), so a chunk's GEMM operands stay near the caches.
    const nb = Math.max(1, Math.min(N, Math.floor(CHUNK_FLOATS / (K * S))));
    const L = (nb - 1) * S + (Ho - 1) * Wp + Wo;
    return { N, C, H, W, Hp, Wp, S, Ho, Wo, K, L, nb, k, pad };
  }

  /** xp (channel-major, zero-padded) and cols of samples n0 … n0 + cnt − 1; returns cols [K, nb·S]. */
  private buildCols(xd: Float32Array, g: ShiftGeometry, n0: number, cnt: number): Float32Array {
    const { C, H, W, Wp, S, K, nb, k, pad } = g;
    const Lc = nb * S, L = (cnt - 1) * S + g.L - (nb - 1) * S;
    const xpLen = C * Lc;
    // One buffer: [xp | cols], so every row of cols is a copyWithin (no view allocation).
    const buf = scratch(this.colsBuf, [xpLen + K * Lc]).data;
    const HW = H * W;
    if (pad === 0 && nb === 1) {
      buf.set(xd.subarray(n0 * C * HW, (n0 + 1) * C * HW), 0); // one sample: its planes are xp already
    } else if (pad === 0) {
      for (let c = 0; c < C; c++) {
        for (let b = 0; b < cnt; b++) {
          const src = ((n0 + b) * C + c) * HW;
          buf.set(xd.subarray(src, src + HW), c * Lc + b * S);
        }
      }
    } else {
      buf.fill(0, 0, xpLen);
      for (let c = 0; c < C; c++) {
        for (let b = 0; b < cnt; b++) {
          const src = ((n0 + b) * C + c) * HW;
          const dst = c * Lc + b * S + pad * Wp + pad;
          for (let h = 0; h < H; h++) {
            const r = src + h * W, d = dst + h * Wp;
            for (let w = 0; w < W; w++) buf[d + w] = xd[r + w]!;
          }
        }
      }
    }
    let row = 0;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++, row++) {
          const src = c * Lc + i * Wp + j;
          buf.copyWithin(xpLen + row * Lc, src, src + L);
        }
      }
    }
    return buf.subarray(xpLen);
  }

  private forwardIm2col(x: Tensor, y: Tensor, relu: boolean): void {
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding;
    const [N, , H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = y.shape as [number, number, number, number];
    const K = C * k * k, P = Ho * Wo, Co = this.outChannels;
    const cols = scratch(this.colsBuf, [N, K, P]).data;
    const yd = y.data, xd = x.data;
    for (let n = 0; n < N; n++) {
      const cn = cols.subarray(n * K * P, (n + 1) * K * P);
      colWalk(xd, n * C * H * W, C, H, W, k, s, pad, Ho, Wo, cn, true);
      const yn = yd.subarray(n * Co * P, (n + 1) * Co * P);
      if (this.bias) {
        const b = this.bias.data;
        for (let o = 0; o < Co; o++) yn.fill(b[o]!, o * P, (o + 1) * P);
      }
      gemmF32(this.weight.data, cn, Co, P, K, { beta: this.bias ? 1 : 0, out: yn });
    }
    if (relu) for (let i = 0, n = yd.length; i < n; i++) yd[i] = reluOf(yd[i]!);
  }

  backward(dy: Tensor, needInputGrad = true): Tensor {
    this.expectGrad(dy, this.y);
    const x = this.x!;
    let g = dy.data;
    // The fused ReLU's backward (dy where y > 0, else 0): in the stride-1 path, inside its copy of dy to the wide grid.
    if (this.stride === 1) return this.backwardShifted(x, g, this.relu ? this.y.data : null, needInputGrad);
    if (this.relu) {
      const m = scratch(this.maskedBuf, dy.shape).data, yd = this.y.data;
      for (let i = 0, n = m.length; i < n; i++) m[i] = g[i]! * +(yd[i]! > 0);
      g = m;
    }
    return this.backwardIm2col(x, dy.shape, g, needInputGrad);
  }

  /**
   * backward through a following MaxPool2d given ∂loss/∂(pool output), for Sequential's Conv2d → ReLU → MaxPool2d
   * (this layer ran `forwardReLU`, stride 1; the pool has kernelSize = stride and no padding, so its windows are
   * disjoint): the pool's gradient routing and the ReLU mask happen inside the spread of dy onto the wide grid, without
   * the pool's dense dx pass. Same bits as `pool.backward` then `backward`. Other cases take that general route.
   */
  backwardThroughMaxPool(dyPool: Tensor, pool: MaxPool2d, needInputGrad = true): Tensor {
    const { input, argmax } = pool.gradRoutes(dyPool);
    if (!this.relu || this.stride !== 1 || input !== this.y || pool.kernelSize !== pool.stride || pool.padding !== 0) {
      return this.backward(pool.backward(dyPool, true), needInputGrad);
    }
    return this.backwardShifted(this.x!, dyPool.data, this.y.data, needInputGrad, argmax, dyPool.size / (this.y.dim(0) * this.outChannels));
  }

  private backwardShifted(
    x: Tensor, gd: Float32Array, yRelu: Float32Array | null, needInputGrad: boolean, argmax: Int32Array | null = null, pooled = 0,
  ): Tensor {
    const geo = this.geometry(x);
    const { N, C, H, W, Wp, S, Ho, Wo, K, nb, k, pad } = geo;
    const Co = this.outChannels, P = Ho * Wo, Lc = nb * S;
    const wide = scratch(this.wideBuf, [Co, Lc]).data;
    const w = this.weight;
    const db = this.bias ? this.bias.grad : null;
    let wt: Float32Array | null = null, dxp: Float32Array | null = null;
    const dx = needInputGrad ? scratch(this.dxBuf, x.shape) : null;
    if (dx) {
      // W[:, :, i, j] as [Co, C] matrices, one per tap.
      wt = scratch(this.wtBuf, [k * k, Co, C]).data;
      const wd = w.data, kk = k * k;
      for (let o = 0; o < Co; o++) for (let c = 0; c < C; c++) for (let t = 0; t < kk; t++) wt[(t * Co + o) * C + c] = wd[(o * C + c) * kk + t]!;
      dxp = scratch(this.dxpBuf, [C, Lc]).data;
    }
    // Per tap t = i·k + j: W[:, :, i, j] as [Co, C], and dxp shifted by i·Wp + j (views made once per backward).
    const wtTap: Float32Array[] = [], dxpTap: Float32Array[] = [];
    const direct = pad === 0 && nb === 1;
    if (wt && dxp) {
      for (let i = 0, t = 0; i < k; i++) {
        for (let j = 0; j < k; j++, t++) {
          wtTap.push(wt.subarray(t * Co * C, (t + 1) * Co * C));
          if (!direct) dxpTap.push(dxp.subarray(i * Wp + j));
        }
      }
    }
    for (let n0 = 0; n0 < N; n0 += nb) {
      const cnt = Math.min(nb, N - n0);
      const Lk = (cnt - 1) * S + geo.L - (nb - 1) * S;
      wide.fill(0);
      if (argmax !== null && yRelu !== null) {
        // dy from the pool's outputs: each goes to its window's maximum (disjoint windows: one at most per element),
        // (0 + g)·(y > 0) exactly as the pool's dx (0 + g) masked by the ReLU; db sums the grid in the dense order.
        for (let b = 0; b < cnt; b++) {
          for (let o = 0; o < Co; o++) {
            const plane = (n0 + b) * Co + o, base = plane * P, w0 = o * Lc + b * S;
            for (let p = plane * pooled, e = p + pooled; p < e; p++) {
              const at = argmax[p]!, local = at - base, oh = (local / Wo) | 0;
              wide[w0 + oh * Wp + local - oh * Wo] = (0 + gd[p]!) * +(yRelu[at]! > 0);
            }
            if (db) {
              let acc = 0;
              for (let oh = 0; oh < Ho; oh++) for (let q = w0 + oh * Wp, e = q + Wo; q < e; q++) acc += wide[q]!;
              db[o] = db[o]! + acc;
            }
          }
        }
      } else for (let b = 0; b < cnt; b++) {
        for (let o = 0; o < Co; o++) {
          let src = (n0 + b) * Co * P + o * P, acc = 0;
          for (let oh = 0; oh < Ho; oh++) {
            let dst = o * Lc + b * S + oh * Wp;
            if (yRelu !== null) {
              for (let ow = 0; ow < Wo; ow++, src++) {
                const v = gd[src]! * +(yRelu[src]! > 0);
                wide[dst++] = v;
                acc += v;
              }
            } else {
              for (let ow = 0; ow < Wo; ow++) {
                const v = gd[src++]!;
                wide[dst++] = v;
                acc += v;
              }
            }
          }
          if (db) db[o] = db[o]! + acc;
        }
      }
      const cols = this.buildCols(x.data, geo, n0, cnt);
      gemmF32(wide, cols, Co, K, Lk, { transB: true, lda: Lc, ldb: Lc, beta: n0 === 0 ? w.gradBeta() : 1, out: w.grad });
      if (dx && dxp && wt && direct) {
        // No padding, one sample per chunk: dx[n] itself has the layout of dxp ([C, H·W]); the taps add into it.
        const dn = dx.data.subarray(n0 * C * H * W, (n0 + 1) * C * H * W);
        dn.fill(0);
        const opts = { transA: true, ldb: Lc, ldc: Lc, beta: 1, out: dn };
        for (let i = 0, t = 0; i < k; i++) {
          for (let j = 0; j < k; j++, t++) {
            opts.out = dn.subarray(i * Wp + j);
            gemmF32(wtTap[t]!, wide, C, Lk, Co, opts);
          }
        }
      } else if (dx && dxp && wt) {
        dxp.fill(0);
        const opts = { transA: true, ldb: Lc, ldc: Lc, beta: 1, out: dxp };
        for (let t = 0; t < k * k; t++) {
          opts.out = dxpTap[t]!;
          gemmF32(wtTap[t]!, wide, C, Lk, Co, opts);
        }
        const dd = dx.data, HW = H * W;
        for (let b = 0; b < cnt; b++) {
          for (let c = 0; c < C; c++) {
            let dst = ((n0 + b) * C + c) * HW;
            for (let h = 0; h < H; h++) {
              let src = c * Lc + b * S + (h + pad) * Wp + pad;
              for (let ww = 0; ww < W; ww++) dd[dst++] = dxp[src++]!;
            }
          }
        }
      }
    }
    return dx ?? NO_GRAD;
  }

  private backwardIm2col(x: Tensor, dyShape: readonly number[], g: Float32Array, needInputGrad: boolean): Tensor {
    const C = this.inChannels, k = this.kernelSize, s = this.stride, pad = this.padding, Co = this.outChannels;
    const [N, , H, W] = x.shape as [number, number, number, number];
    const [, , Ho, Wo] = dyShape as [number, number, number, number];
    const K = C * k * k, P = Ho * Wo;
    const cols = this.colsBuf.buf;
    const dx = needInputGrad ? scratch(this.dxBuf, x.shape) : null;
    const dcols = needInputGrad ? scratch(this.dcolsBuf, [K, P]).data : null;
    if (dx) dx.data.fill(0);
    for (let n = 0; n < N; n++) {
      const cn = cols.subarray(n * K * P, (n + 1) * K * P);
      const gn = g.subarray(n * Co * P, (n + 1) * Co * P);
      const w = this.weight;
      gemmF32(gn, cn, Co, K, P, { transB: true, beta: n === 0 ? w.gradBeta() : 1, out: w.grad });
      if (this.bias) {
        const db = this.bias.grad;
        for (let o = 0; o < Co; o++) {
          let acc = 0;
          for (let p = o * P, e = p + P; p < e; p++) acc += gn[p]!;
          db[o] = db[o]! + acc;
        }
      }
      if (dx && dcols) {
        gemmF32(this.weight.data, gn, K, P, Co, { transA: true, out: dcols });
        colWalk(dx.data, n * C * H * W, C, H, W, k, s, pad, Ho, Wo, dcols, false);
      }
    }
    return dx ?? NO_GRAD;
  }

  config(): ModuleConfig {
    return {
      type: 'Conv2d', inChannels: this.inChannels, outChannels: this.outChannels, kernelSize: this.kernelSize,
      stride: this.stride, padding: this.padding, bias: this.bias !== null,
    };
  }
}

/**
 * The im2col index walk shared by both directions: `toCols` copies x[n] into cols (0 where the window is outside the
 * image); otherwise cols are added back into x[n] (col2im, the adjoint). For each (c, i, j, oh) row segment the
 * columns ow whose input iw = ow·s − pad + j lies inside [0, W) form one range [lo, hi), walked without a branch.
 */
function colWalk(
  x: Float32Array, x0: number, C: number, H: number, W: number, k: number, s: number, pad: number,
  Ho: number, Wo: number, cols: Float32Array, toCols: boolean,
): void {
  let row = 0;
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++, row++) {
        const lo = Math.min(Wo, Math.max(0, Math.ceil((pad - j) / s)));
        const hi = Math.max(lo, Math.min(Wo, Math.floor((W - 1 + pad - j) / s) + 1));
        const shift = j - pad;
        for (let oh = 0, o = row * Ho * Wo; oh < Ho; oh++, o += Wo) {
          const ih = oh * s - pad + i;
          if (ih < 0 || ih >= H) {
            if (toCols) cols.fill(0, o, o + Wo);
            continue;
          }
          const base = x0 + (c * H + ih) * W + shift;
          if (toCols) {
            if (lo > 0) cols.fill(0, o, o + lo);
            for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[base + ow * s]!;
            if (hi < Wo) cols.fill(0, o + hi, o + Wo);
          } else {
            for (let ow = lo; ow < hi; ow++) x[base + ow * s] = x[base + ow * s]! + cols[o + ow]!;
          }
        }
      }
    }
  }
}
