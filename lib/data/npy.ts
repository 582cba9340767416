/**
 * NumPy .npy (format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", version bytes, a little-endian header length
 * (uint16 for 1.0, uint32 for 2.0/3.0), an ASCII Python-dict header {'descr', 'fortran_order', 'shape'} padded with
 * spaces and a newline so the data starts at a multiple of 64 bytes, then the raw data. Read: little-endian or
 * byte-order-free dtypes b1/i1/u1/i2/u2/i4/u4/i8/u8/f4/f8, C order (Fortran order and big-endian data are
 * rejected with a clear error). Write: version 1.0 (2.0 when the header needs it), C order.
 */
import * as fs from 'node:fs';

import { DistiqRangeError, DistiqTypeError } from '../errors';
import { shapeSize } from '../tensor/shape';
import { describe } from '../validate';
import { readMaybeGzip } from './idx';

export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export interface NpyArray {
  /** NumPy descr, e.g. "<f4". */
  descr: string;
  shape: number[];
  data: NpyData;
}

type Ctor = { new (buf: ArrayBuffer, off?: number, len?: number): NpyData; new (n: number): NpyData; BYTES_PER_ELEMENT: number };

const DTYPES: Record<string, Ctor> = {
  b1: Uint8Array as unknown as Ctor,
  i1: Int8Array as unknown as Ctor,
  u1: Uint8Array as unknown as Ctor,
  i2: Int16Array as unknown as Ctor,
  u2: Uint16Array as unknown as Ctor,
  i4: Int32Array as unknown as Ctor,
  u4: Uint32Array as unknown as Ctor,
  i8: BigInt64Array as unknown as Ctor,
  u8: BigUint64Array as unknown as Ctor,
  f4: Float32Array as unknown as Ctor,
  f8: Float64Array as unknown as Ctor,
};

function descrOf(data: unknown): string {
  const pairs: [unknown, string][] = [
    [Float32Array, '<f4'], [Float64Array, '<f8'], [Int8Array, '|i1'], [Uint8Array, '|u1'], [Int16Array, '<i2'],
    [Uint16Array, '<u2'], [Int32Array, '<i4'], [Uint32Array, '<u4'], [BigInt64Array, '<i8'], [BigUint64Array, '<u8'],
  ];
  for (const [c, d] of pairs) if (data instanceof (c as new () => object)) return d;
  throw new DistiqTypeError(`The "data" argument must be a numeric TypedArray. Received ${describe(data)}`);
}

export function parseNpy(buf: Uint8Array, name = '.npy data'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new DistiqRangeError(`${name} is not a .npy file (bad magic)`);
  const major = buf[6]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let hlen: number, start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) throw new DistiqRangeError(`${name} is truncated inside its header`);
    hlen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw new DistiqRangeError(`${name}: unsupported .npy format version ${major}`);
  }
  if (start + hlen > buf.length) throw new DistiqRangeError(`${name} is truncated inside its header`);
  const header = Buffer.from(buf.buffer, buf.byteOffset + start, hlen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DistiqRangeError(`${name}: malformed header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') throw new DistiqRangeError(`${name}: Fortran-order arrays are not supported (save with np.ascontiguousarray)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map((s) => Number(s));
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new DistiqRangeError(`${name}: bad shape (${shapeText})`);
  const order = descr[0], kind = descr.slice(1);
  const C = DTYPES[kind];
  if (C === undefined || (order === '>' && C.BYTES_PER_ELEMENT > 1) || !(order === '<' || order === '|' || order === '=' || order === '>')) {
    throw new DistiqRangeError(`${name}: unsupported dtype ${JSON.stringify(descr)} (supported: little-endian b1 i1 u1 i2 u2 i4 u4 i8 u8 f4 f8)`);
  }
  const count = shapeSize(shape);
  const off = start + hlen;
  const bytes = count * C.BYTES_PER_ELEMENT;
  if (buf.length - off !== bytes) {
    throw new DistiqRangeError(`${name}: shape (${shape.join(', ')}) of ${descr} needs ${bytes} data bytes, the file has ${buf.length - off}`);
  }
  // Copy into a fresh, aligned buffer.
  const ab = new ArrayBuffer(bytes);
  new Uint8Array(ab).set(buf.subarray(off, off + bytes));
  return { descr, shape, data: new C(ab) };
}

export function readNpy(file: string): NpyArray {
  return parseNpy(readMaybeGzip(file), `"${file}"`);
}

/** Serializes `data` with `shape` (default 1-D) as .npy bytes. */
export function encodeNpy(data: NpyData, shape: readonly number[] = [data.length]): Buffer {
  const descr = descrOf(data);
  if (shapeSize(shape) !== data.length) {
    throw new DistiqRangeError(`Expected data.length to equal ${shapeSize(shape)} (shape (${shape.join(', ')})), received ${data.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let major = 1, pre = 10;
  if (dict.length + 1 + pre > 65535) { major = 2; pre = 12; }
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - pre - 1, ' ') + '\n';
  const out = Buffer.alloc(total + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  if (major === 1) out.writeUInt16LE(dict.length, 8);
  else out.writeUInt32LE(dict.length, 8);
  out.write(dict, pre, 'latin1');
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

export function writeNpy(file: string, data: NpyData, shape?: readonly number[]): void {
  fs.writeFileSync(file, encodeNpy(data, shape));
}
