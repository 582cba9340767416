/**
 * The ISA loop shared by every kernel test: run a block once per level this CPU supports, with that level active,
 * restoring the original level afterwards. Compare each level against `ref` (the spec).
 */
import { native } from '../../lib/native';

export const levels: readonly string[] = native.cpuInfo().available;
export const defaultLevel: string = native.cpuInfo().isa;
/** Levels other than `ref`, i.e. the SIMD paths to check against the reference. */
export const simdLevels: readonly string[] = levels.filter((l) => l !== 'ref');

/** Runs `fn` with `level` active and restores the previous level, even if `fn` throws. */
export function withIsa<T>(level: string, fn: () => T): T {
  const before = native.cpuInfo().isa;
  native._setIsa(level);
  try {
    return fn();
  } finally {
    native._setIsa(before);
  }
}

/** Async variant of withIsa (the level stays active until the promise settles). */
export async function withIsaAsync<T>(level: string, fn: () => Promise<T>): Promise<T> {
  const before = native.cpuInfo().isa;
  native._setIsa(level);
  try {
    return await fn();
  } finally {
    native._setIsa(before);
  }
}
