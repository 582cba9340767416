/**
 * The single door from TypeScript into the native addon: loading (prebuild or local build, through node-gyp-build)
 * with a diagnosable error, and the typed `NativeBinding` surface. Everything else goes through `lib/ops/`.
 *
 * Natives are private: they take flat positional arguments (TypedArrays, numbers, booleans, PackedWeightsS8
 * handles), re-check every length and throw TypeError/RangeError with the same `code`s as `lib/errors.ts`.
 */
import * as path from 'node:path';

import { DistiqError, fromNative } from './errors';

/** Output kinds of the int8 GEMM epilogue (matches `distiq::GemmOut`). */
export const GemmOutKind = { S32: 0, F32: 1, U8: 2, S8: 3 } as const;
export type GemmOutKind = (typeof GemmOutKind)[keyof typeof GemmOutKind];

/** Quantized element types (matches `distiq::QType`). */
export const QTypeCode = { S8: 0, U8: 1, S4: 2, U4: 3 } as const;
export type QTypeCode = (typeof QTypeCode)[keyof typeof QTypeCode];

/** Weights packed for one ISA's int8 GEMM kernel (native ObjectWrap; memory freed by the GC). */
export interface NativePackedWeightsS8 {
  readonly n: number;
  readonly k: number;
  /** The ISA level whose layout the panels use, e.g. "avx512vnni". */
  readonly layout: string;
  readonly byteLength: number;
}

export interface NativeKernelNames {
  gemm_u8s8: string;
  gemm_s8s8: string;
  gemm_f32: string;
  quantize: string;
  dequantize: string;
  min_max: string;
  fake_quantize: string;
  softmax_kl: string;
  softmax: string;
  adam: string;
}

export interface NativeCpuInfo {
  arch: 'x64' | 'arm64' | 'other';
  brand: string;
  features: string[];
  isa: string;
  best: string;
  available: string[];
  kernels: NativeKernelNames;
  threads: number;
}

type GemmS8Args = [
  a: Uint8Array | Int8Array,
  m: number,
  lda: number,
  za: number,
  packed: NativePackedWeightsS8,
  zw: number,
  outKind: GemmOutKind,
  c: Int32Array | Float32Array | Uint8Array | Int8Array,
  ldc: number,
  aScale: number,
  wScale: Float32Array | null,
  bias: Float32Array | null,
  relu: boolean,
  outScale: number,
  outZp: number,
];

type GemmF32Args = [
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  lda: number,
  b: Float32Array,
  ldb: number,
  beta: number,
  c: Float32Array,
  ldc: number,
];

type QuantizeArgs = [
  x: Float32Array,
  outer: number,
  channels: number,
  inner: number,
  group: number,
  rowLen: number,
  scales: Float32Array,
  zeroPoints: Int32Array | null,
  qtype: QTypeCode,
  qmin: number,
  qmax: number,
  q: Int8Array | Uint8Array,
];

type DequantizeArgs = [
  q: Int8Array | Uint8Array,
  qtype: QTypeCode,
  outer: number,
  channels: number,
  inner: number,
  group: number,
  rowLen: number,
  scales: Float32Array,
  zeroPoints: Int32Array | null,
  x: Float32Array,
];

type SoftmaxKlArgs = [
  student: Float32Array,
  rows: number,
  cols: number,
  teacher: Float32Array | null,
  topkIndex: Int32Array | null,
  topkLogits: Float32Array | null,
  topk: number,
  labels: Int32Array | null,
  temperature: number,
  alpha: number,
  loss: Float32Array,
  grad: Float32Array | null,
  gradScale: number,
];

export interface NativeBinding {
  // cpu (native/addon/ops_cpu.cc)
  cpuInfo(): NativeCpuInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Test hook: switch the active ISA level (RangeError if this CPU lacks it). */
  _setIsa(level: string): void;
  _kernelsFor(level: string): NativeKernelNames;

  // int8 GEMM (native/addon/ops_gemm_s8.cc, packed_weights.cc)
  packWeightsS8(w: Int8Array, n: number, k: number, ldw: number): NativePackedWeightsS8;
  gemmS8(...args: GemmS8Args): void;
  gemmS8Async(...args: GemmS8Args): Promise<void>;

  // fp32 GEMM (native/addon/ops_gemm_f32.cc)
  gemmF32(...args: GemmF32Args): void;
  gemmF32Async(...args: GemmF32Args): Promise<void>;

  // quantization (native/addon/ops_quant.cc)
  quantize(...args: QuantizeArgs): void;
  quantizeAsync(...args: QuantizeArgs): Promise<void>;
  dequantize(...args: DequantizeArgs): void;
  dequantizeAsync(...args: DequantizeArgs): Promise<void>;
  minMax(
    x: Float32Array,
    outer: number,
    channels: number,
    inner: number,
    group: number,
    mins: Float32Array,
    maxs: Float32Array,
  ): void;
  fakeQuantize(
    x: Float32Array,
    outer: number,
    channels: number,
    inner: number,
    group: number,
    scales: Float32Array,
    zeroPoints: Int32Array | null,
    qmin: number,
    qmax: number,
    y: Float32Array,
    mask: Uint8Array | null,
  ): void;

  // softmax / distillation loss (native/addon/ops_softmax_kl.cc)
  softmaxKl(...args: SoftmaxKlArgs): void;
  softmaxKlAsync(...args: SoftmaxKlArgs): Promise<void>;
  softmax(x: Float32Array, rows: number, cols: number, out: Float32Array, log: boolean): void;

  // fused Adam / AdamW step (native/addon/ops_optim.cc)
  adamStep(
    p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, decay: number, l2: number, beta1: number,
    c1: number, beta2: number, c2: number, stepSize: number, invBc2: number, eps: number,
  ): void;
}

const root = path.resolve(__dirname, '..');

function loadError(cause: unknown): DistiqError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const lines = [
    `distiq could not load its native addon for ${process.platform}-${process.arch} ` +
      `(Node ${process.versions.node}, N-API ${process.versions.napi}).`,
    `Looked in ${path.join(root, 'prebuilds', `${process.platform}-${process.arch}`)} and ${path.join(root, 'build', 'Release')}.`,
    `Loader said: ${detail}`,
    'Possible solutions:',
    '- Build from source: npm rebuild distiq --build-from-source (needs python3, make and a C++17 compiler,',
    '  e.g. apt-get install build-essential python3).',
    '- Make sure Node was not started with --no-addons.',
    `- Prebuilt binaries ship for linux-x64 and linux-arm64; other platforms must build from source.`,
  ];
  return new DistiqError(lines.join('\n'), 'ERR_DISTIQ_NATIVE_LOAD', { cause });
}

function load(): NativeBinding {
  let binding: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
    binding = nodeGypBuild(root);
  } catch (err) {
    // A bad DISTIQ_ISA is the user's setting, not a load failure: surface it as a DistiqRangeError ERR_DISTIQ_ISA.
    if (err instanceof Error && (err as { code?: unknown }).code === 'ERR_DISTIQ_ISA') throw fromNative(err);
    throw loadError(err);
  }
  return binding as NativeBinding;
}

/** The loaded addon. Loading happens on first import of distiq. */
export const native: NativeBinding = load();
