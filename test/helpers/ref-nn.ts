/** Float64 reference forwards of the training layers and losses, written for clarity (the spec of lib/nn). */

export function refLinear(x: Float64Array, w: Float64Array, b: Float64Array | null, inF: number, outF: number): Float64Array {
  const rows = x.length / inF;
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  }
  return y;
}

export function refMap(x: Float64Array, f: (v: number) => number): Float64Array {
  return x.map(f);
}

/** erf by its Maclaurin series (accurate to ~1e-13 for |x| ≤ 3; tests stay in that range). */
export function refErf(x: number): number {
  let term = x, sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export const refGelu = (v: number): number => 0.5 * v * (1 + refErf(v / Math.SQRT2));

export function refConv2d(
  x: Float64Array, w: Float64Array, b: Float64Array | null, N: number, C: number, H: number, W: number,
  Co: number, k: number, s: number, pad: number,
): Float64Array {
  const Ho = Math.floor((H + 2 * pad - k) / s) + 1, Wo = Math.floor((W + 2 * pad - k) / s) + 1;
  const y = new Float64Array(N * Co * Ho * Wo);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < Co; o++) {
      for (let oh = 0; oh < Ho; oh++) {
        for (let ow = 0; ow < Wo; ow++) {
          let acc = b ? b[o]! : 0;
          for (let c = 0; c < C; c++) {
            for (let i = 0; i < k; i++) {
              for (let j = 0; j < k; j++) {
                const ih = oh * s - pad + i, iw = ow * s - pad + j;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x[((n * C + c) * H + ih) * W + iw]! * w[((o * C + c) * k + i) * k + j]!;
              }
            }
          }
          y[((n * Co + o) * Ho + oh) * Wo + ow] = acc;
        }
      }
    }
  }
  return y;
}

export function refPool(
  x: Float64Array, N: number, C: number, H: number, W: number, k: number, s: number, pad: number, mode: 'max' | 'avg',
): Float64Array {
  const Ho = Math.floor((H + 2 * pad - k) / s) + 1, Wo = Math.floor((W + 2 * pad - k) / s) + 1;
  const y = new Float64Array(N * C * Ho * Wo);
  for (let p = 0; p < N * C; p++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++) {
        let acc = mode === 'max' ? -Infinity : 0;
        for (let i = 0; i < k; i++) {
          for (let j = 0; j < k; j++) {
            const ih = oh * s - pad + i, iw = ow * s - pad + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x[(p * H + ih) * W + iw]!;
            acc = mode === 'max' ? Math.max(acc, v) : acc + v;
          }
        }
        y[(p * Ho + oh) * Wo + ow] = mode === 'max' ? acc : acc / (k * k);
      }
    }
  }
  return y;
}

/** BatchNorm over [N, C, L]; `stats` given = eval mode with those running stats. */
export function refBatchNorm(
  x: Float64Array, g: Float64Array | null, b: Float64Array | null, N: number, C: number, L: number, eps: number,
  stats?: { mean: ArrayLike<number>; var: ArrayLike<number> },
): Float64Array {
  const y = new Float64Array(x.length);
  for (let c = 0; c < C; c++) {
    let mean: number, v: number;
    if (stats) {
      mean = stats.mean[c]!;
      v = stats.var[c]!;
    } else {
      mean = 0;
      for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) mean += x[(n * C + c) * L + l]!;
      mean /= N * L;
      v = 0;
      for (let n = 0; n < N; n++) for (let l = 0; l < L; l++) v += (x[(n * C + c) * L + l]! - mean) ** 2;
      v /= N * L;
    }
    for (let n = 0; n < N; n++) {
      for (let l = 0; l < L; l++) {
        const i = (n * C + c) * L + l;
        y[i] = ((x[i]! - mean) / Math.sqrt(v + eps)) * (g ? g[c]! : 1) + (b ? b[c]! : 0);
      }
    }
  }
  return y;
}

export function refLayerNorm(x: Float64Array, g: Float64Array | null, b: Float64Array | null, D: number, eps: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += x[r * D + i]!;
    mean /= D;
    let v = 0;
    for (let i = 0; i < D; i++) v += (x[r * D + i]! - mean) ** 2;
    v /= D;
    for (let i = 0; i < D; i++) y[r * D + i] = ((x[r * D + i]! - mean) / Math.sqrt(v + eps)) * (g ? g[i]! : 1) + (b ? b[i]! : 0);
  }
  return y;
}

/** Mean softmax cross-entropy of logits [N, C]. */
export function refCrossEntropy(z: Float64Array, labels: Int32Array, C: number): number {
  const N = labels.length;
  let total = 0;
  for (let r = 0; r < N; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[r * C + c]!);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[r * C + c]! - m);
    total += m + Math.log(s) - z[r * C + labels[r]!]!;
  }
  return total / N;
}

export function refMse(y: Float64Array, t: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (y[i]! - t[i]!) ** 2;
  return s / y.length;
}

export function refCosine(y: Float64Array, t: ArrayLike<number>, D: number): number {
  const N = y.length / D;
  let total = 0;
  for (let r = 0; r < N; r++) {
    let yy = 0, tt = 0, yt = 0;
    for (let i = 0; i < D; i++) {
      yy += y[r * D + i]! ** 2;
      tt += t[r * D + i]! ** 2;
      yt += y[r * D + i]! * t[r * D + i]!;
    }
    total += 1 - yt / (Math.max(Math.sqrt(yy), 1e-8) * Math.max(Math.sqrt(tt), 1e-8));
  }
  return total / N;
}
