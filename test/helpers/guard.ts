/**
 * Guarded buffers: a view into a larger buffer with sentinel elements on both sides and an odd element offset
 * (byteOffset ≠ 0), so a test can assert the kernel wrote every element of its output and nothing outside it.
 */
type Ctor<T> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

export interface Guarded<T> {
  /** The view the kernel sees. */
  view: T;
  /** Throws if any guard element changed. */
  checkGuards(): void;
}

const GUARD = 8;

export function guarded<T extends { length: number; [i: number]: number; fill(v: number): T }>(
  ctor: Ctor<T>,
  length: number,
  sentinel: number,
  offset = 1,
): Guarded<T> {
  const total = length + 2 * GUARD + offset;
  const buffer = new ArrayBuffer(total * ctor.BYTES_PER_ELEMENT);
  const whole = new ctor(buffer, 0, total);
  whole.fill(sentinel);
  const start = GUARD + offset;
  const view = new ctor(buffer, start * ctor.BYTES_PER_ELEMENT, length);
  return {
    view,
    checkGuards(): void {
      for (let i = 0; i < total; i++) {
        if (i >= start && i < start + length) continue;
        const v = whole[i]!;
        if (!(v === sentinel || (Number.isNaN(v) && Number.isNaN(sentinel)))) {
          throw new Error(`guard element ${i - start} (relative to the view) changed: ${v} (sentinel ${sentinel})`);
        }
      }
    },
  };
}

/** A copy of `src` placed at an odd offset inside a larger buffer (byteOffset ≠ 0, unaligned for SIMD). */
export function misaligned<T extends { length: number; [i: number]: number; set(a: ArrayLike<number>): void }>(
  ctor: Ctor<T>,
  src: ArrayLike<number>,
): T {
  const buffer = new ArrayBuffer((src.length + 3) * ctor.BYTES_PER_ELEMENT);
  const view = new ctor(buffer, ctor.BYTES_PER_ELEMENT, src.length);
  view.set(src);
  return view;
}
