/** distiq: knowledge distillation and quantization for Node.js on native SIMD kernels. */
export { cpuInfo, getNumThreads, setNumThreads } from './ops/cpu';
export type { CpuInfo } from './ops/cpu';
export { DistiqError, DistiqRangeError, DistiqTypeError } from './errors';
export type { DistiqErrorCode } from './errors';
export { gemmF32, gemmF32Async } from './ops/gemm-f32';
export type { GemmF32Options } from './ops/gemm-f32';
