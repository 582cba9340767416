/** CPU features, the ISA level in use and the kernel chosen for each op; the native thread count. */
import { fromNative } from '../errors';
import { native, type NativeCpuInfo } from '../native';
import { expectInteger } from '../validate';

export type CpuInfo = NativeCpuInfo;

/**
 * What this CPU supports and which kernel each op runs. `isa` is the active level (the best one, or the cap set by
 * the `DISTIQ_ISA` environment variable), `available` every level this CPU can run.
 */
export function cpuInfo(): CpuInfo {
  try {
    return native.cpuInfo();
  } catch (err) {
    throw fromNative(err);
  }
}

/** Threads used inside each native op (default: the number of cores). Results do not depend on it. */
export function setNumThreads(n: number): void {
  expectInteger('n', n, 1, 256);
  try {
    native.setNumThreads(n);
  } catch (err) {
    throw fromNative(err);
  }
}

/** Threads used inside each native op. */
export function getNumThreads(): number {
  try {
    return native.getNumThreads();
  } catch (err) {
    throw fromNative(err);
  }
}
