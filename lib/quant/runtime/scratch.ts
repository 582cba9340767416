/**
 * Reusable buffers of one runtime layer, by role. A buffer is reused while it is large enough, so a model run with a
 * fixed batch size allocates nothing in steady state. A QuantizedModel runs one call at a time (predictAsync calls
 * are queued), so a layer's buffers are never shared by two calls in flight.
 */
type Ctor<T> = { new (n: number): T };
type Arr = Float32Array | Uint8Array | Int8Array;

export class Scratch {
  private readonly bufs = new Map<string, Arr>();

  /** A view of exactly `n` elements of the `role` buffer of type `ctor` (contents unspecified). */
  get<T extends Arr>(role: string, ctor: Ctor<T>, n: number): T {
    let b = this.bufs.get(role) as T | undefined;
    if (b === undefined || !(b instanceof (ctor as unknown as Function)) || b.length < n) {
      b = new ctor(n);
      this.bufs.set(role, b);
    }
    return (b.length === n ? b : b.subarray(0, n)) as T;
  }
}
