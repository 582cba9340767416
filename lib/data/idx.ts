/**
 * IDX files (the MNIST format): magic 0x00 0x00 <type> <rank>, then `rank` big-endian uint32 dimensions, then the
 * values big-endian, row-major. Types: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64.
 * Gzipped files (first bytes 1f 8b) are inflated with node:zlib. Errors name the file and what is wrong.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

import { DistiqError, DistiqRangeError } from '../errors';

export interface IdxArray {
  type: 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES = {
  0x08: ['uint8', 1],
  0x09: ['int8', 1],
  0x0b: ['int16', 2],
  0x0c: ['int32', 4],
  0x0d: ['float32', 4],
  0x0e: ['float64', 8],
} as const;

/** Reads a file, gunzipping it when it starts with the gzip magic. */
export function readMaybeGzip(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new DistiqError(`Cannot read "${file}": ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, 'ERR_DISTIQ_INVALID_ARG_VALUE', { cause: err });
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (err) {
      throw new DistiqRangeError(`"${file}" is a corrupt gzip file: ${(err as Error).message}`);
    }
  }
  return raw;
}

/** Parses IDX bytes (`name` is used in error messages). */
export function parseIdx(buf: Uint8Array, name = 'IDX data'): IdxArray {
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new DistiqRangeError(`${name} is not an IDX file (expected magic 00 00 <type> <rank>)`);
  }
  const t = TYPES[buf[2] as keyof typeof TYPES];
  if (t === undefined) throw new DistiqRangeError(`${name}: unknown IDX element type 0x${buf[2]!.toString(16)}`);
  const rank = buf[3]!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const head = 4 + 4 * rank;
  if (buf.length < head) throw new DistiqRangeError(`${name} is truncated inside its header (${buf.length} bytes)`);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const d = dv.getUint32(4 + 4 * i, false);
    shape.push(d);
    count *= d;
  }
  const [type, size] = t;
  const need = head + count * size;
  if (buf.length !== need) {
    throw new DistiqRangeError(`${name}: shape [${shape.join(', ')}] of ${type} needs ${need} bytes, the file has ${buf.length}${buf.length < need ? ' (truncated)' : ''}`);
  }
  let data: IdxArray['data'];
  switch (type) {
    case 'uint8':
      data = new Uint8Array(buf.subarray(head, need));
      break;
    case 'int8':
      data = new Int8Array(buf.buffer.slice(buf.byteOffset + head, buf.byteOffset + need));
      break;
    default: {
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type];
      const arr = new Ctor(count);
      const get = { int16: dv.getInt16, int32: dv.getInt32, float32: dv.getFloat32, float64: dv.getFloat64 }[type].bind(dv);
      for (let i = 0; i < count; i++) arr[i] = get(head + i * size, false);
      data = arr;
    }
  }
  return { type, shape, data };
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readMaybeGzip(file), `"${file}"`);
}
