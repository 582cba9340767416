/**
 * int4 / uint4 storage (DESIGN §3): two values per byte, element 2i of a row in the low nibble of byte i and element
 * 2i+1 in the high nibble; each row of `rowLen` elements takes ceil(rowLen / 2) bytes, so an odd row ends with a
 * pad nibble, written as 0. This is exactly the layout `quantize` produces for the `int4`/`uint4` dtypes (rows =
 * the last axis), so these helpers convert between it and one value per byte.
 */
import { DistiqRangeError } from '../errors';
import { expectBoolean, expectInteger, expectTypedArray } from '../validate';

/** Bytes that `count` 4-bit values in rows of `rowLen` take. */
export function int4ByteLength(count: number, rowLen: number): number {
  expectInteger('count', count);
  expectInteger('rowLen', rowLen, 1);
  expectRowsDivide(count, rowLen);
  return (count / rowLen) * Math.ceil(rowLen / 2);
}

function expectRowsDivide(count: number, rowLen: number): void {
  if (count % rowLen !== 0) {
    throw new DistiqRangeError(`The "rowLen" argument must divide the element count (${count}). Received ${rowLen}`);
  }
}

/**
 * Packs one value per element into nibbles. `values` is an Int8Array of int4 values in [−8, 7] or a Uint8Array of
 * uint4 values in [0, 15]; its length must be a multiple of `rowLen`.
 */
export function packInt4(values: Int8Array | Uint8Array, rowLen: number): Uint8Array {
  expectTypedArray<Int8Array | Uint8Array>('values', values, Int8Array, Uint8Array);
  const signed = values instanceof Int8Array;
  const bytes = int4ByteLength(values.length, rowLen);
  const lo = signed ? -8 : 0, hi = signed ? 7 : 15;
  const out = new Uint8Array(bytes);
  const rowBytes = Math.ceil(rowLen / 2);
  for (let e = 0; e < values.length; e++) {
    const v = values[e]!;
    if (v < lo || v > hi) {
      throw new DistiqRangeError(
        `Expected every element of "values" to be in [${lo}, ${hi}] (${signed ? 'int4' : 'uint4'}); values[${e}] is ${v}`,
      );
    }
    const row = Math.floor(e / rowLen), i = e % rowLen;
    const b = row * rowBytes + (i >> 1);
    out[b] = out[b]! | ((v & 0x0f) << ((i & 1) * 4));
  }
  return out;
}

/**
 * Unpacks `count` 4-bit values stored in rows of `rowLen` (see the module doc). Returns an Int8Array of values in
 * [−8, 7] when `signed` (int4, sign-extended), else a Uint8Array in [0, 15] (uint4).
 */
export function unpackInt4(packed: Uint8Array, count: number, rowLen: number, signed: boolean): Int8Array | Uint8Array {
  expectTypedArray('packed', packed, Uint8Array);
  expectBoolean('signed', signed);
  const bytes = int4ByteLength(count, rowLen);
  if (packed.length !== bytes) {
    throw new DistiqRangeError(
      `Expected packed.length to equal ${bytes} ((count/rowLen)*ceil(rowLen/2)), received ${packed.length}`,
      'ERR_DISTIQ_SHAPE_MISMATCH',
    );
  }
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  const rowBytes = Math.ceil(rowLen / 2);
  for (let e = 0; e < count; e++) {
    const row = Math.floor(e / rowLen), i = e % rowLen;
    const nibble = (packed[row * rowBytes + (i >> 1)]! >> ((i & 1) * 4)) & 0x0f;
    out[e] = signed && nibble >= 8 ? nibble - 16 : nibble;
  }
  return out;
}
