/** distiq: knowledge distillation and quantization for Node.js on native SIMD kernels. */
export { cpuInfo, getNumThreads, setNumThreads } from './ops/cpu';
export type { CpuInfo } from './ops/cpu';
export { DistiqError, DistiqRangeError, DistiqTypeError } from './errors';
export type { DistiqErrorCode } from './errors';
