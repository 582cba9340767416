/**
 * safetensors (DESIGN §6; the format of the Hugging Face `safetensors` package):
 *
 *   [8 bytes: N, uint64 little-endian] [N bytes: JSON header, UTF-8, padded with spaces to a multiple of 8]
 *   [data: the tensors' raw little-endian bytes]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets into the data
 * section), plus an optional "__metadata__" object of string → string. distiq writes and reads dtypes F32, F16
 * (raw bits in a Uint16Array; `f16ToF32`/`f32ToF16` convert), I8, U8 and I32; tensors are written in the order given,
 * contiguous from offset 0.
 *
 * Reading validates everything before allocating: the header length must fit the file (and 100 MB, the reference
 * implementation's limit), the header must be a JSON object of well-formed entries with a known dtype, each entry's
 * byte span must equal shape × dtype size, and the spans must tile the data section exactly (no hole, no overlap,
 * nothing after the last). Errors are DistiqRangeError naming the file and the problem.
 */
import * as fs from 'node:fs';

import { DistiqRangeError, DistiqTypeError } from '../errors';
import { formatShape, shapeSize } from '../tensor/shape';
import { describe } from '../validate';

export type SafetensorsDtype = 'F32' | 'F16' | 'I8' | 'U8' | 'I32';
export type SafetensorsData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array;

export interface SafeTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsData;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

/** The reference implementation refuses headers above 100 MB; so does distiq. */
export const MAX_HEADER_BYTES = 100_000_000;

const DTYPE: Record<SafetensorsDtype, { size: number; ctor: new (b: ArrayBuffer) => SafetensorsData }> = {
  F32: { size: 4, ctor: Float32Array },
  F16: { size: 2, ctor: Uint16Array },
  I8: { size: 1, ctor: Int8Array },
  U8: { size: 1, ctor: Uint8Array },
  I32: { size: 4, ctor: Int32Array },
};

function expectedCtor(dtype: SafetensorsDtype): string {
  return { F32: 'Float32Array', F16: 'Uint16Array', I8: 'Int8Array', U8: 'Uint8Array', I32: 'Int32Array' }[dtype];
}

/** Serializes tensors (in iteration order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new DistiqTypeError(`Metadata "${k}" must be a string. Received ${describe(v)}`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new DistiqRangeError('"__metadata__" is reserved and cannot name a tensor');
    const spec = DTYPE[t.dtype];
    if (spec === undefined) throw new DistiqRangeError(`Tensor "${name}": unsupported dtype ${describe(t.dtype)} (F32, F16, I8, U8, I32)`);
    if (!(t.data instanceof (spec.ctor as unknown as new () => object))) {
      throw new DistiqTypeError(`Tensor "${name}" (dtype ${t.dtype}) must hold a ${expectedCtor(t.dtype)}. Received ${describe(t.data)}`);
    }
    const n = shapeSize(t.shape, `${name}.shape`);
    if (n !== t.data.length) {
      throw new DistiqRangeError(`Tensor "${name}": shape ${formatShape(t.shape)} needs ${n} elements, data has ${t.data.length}`, 'ERR_DISTIQ_SHAPE_MISMATCH');
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  const raw = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (raw % 8)) % 8);
  const hlen = Buffer.byteLength(json, 'utf8');
  const out = Buffer.allocUnsafe(8 + hlen + offset);
  out.writeBigUInt64LE(BigInt(hlen), 0);
  out.write(json, 8, 'utf8');
  let at = 8 + hlen;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

function fail(name: string, msg: string): never {
  throw new DistiqRangeError(`${name}: ${msg}`);
}

/** Parses safetensors bytes (`name` appears in error messages). */
export function decodeSafetensors(buf: Uint8Array, name = 'safetensors data'): SafetensorsFile {
  if (buf.length < 8) fail(name, `truncated: ${buf.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(buf.length - 8)) fail(name, `bad header length ${n64}: only ${buf.length - 8} bytes follow it (truncated or not a safetensors file)`);
  const n = Number(n64);
  if (n > MAX_HEADER_BYTES) fail(name, `bad header length ${n}: above the ${MAX_HEADER_BYTES}-byte limit`);
  if (n < 2) fail(name, `bad header length ${n}: too short for a JSON object`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + n)));
  } catch (err) {
    fail(name, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail(name, 'the header must be a JSON object');
  const dataStart = 8 + n, dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  const entries: [string, SafetensorsDtype, number[], number, number][] = [];
  for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, '"__metadata__" must be an object of strings');
      for (const [mk, mv] of Object.entries(value as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(name, `"__metadata__"."${mk}" must be a string, found ${describe(mv)}`);
        metadata[mk] = mv;
      }
      continue;
    }
    const e = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e === null || typeof e !== 'object') fail(name, `tensor "${key}": the entry must be an object`);
    if (typeof e.dtype !== 'string' || !(e.dtype in DTYPE)) fail(name, `tensor "${key}": unsupported dtype ${describe(e.dtype)} (distiq reads F32, F16, I8, U8, I32)`);
    const dtype = e.dtype as SafetensorsDtype;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) fail(name, `tensor "${key}": bad shape ${JSON.stringify(e.shape)}`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((o) => !Number.isSafeInteger(o) || (o as number) < 0)) {
      fail(name, `tensor "${key}": bad data_offsets ${JSON.stringify(off)}`);
    }
    const [b, end] = off as [number, number];
    if (b > end || end > dataLen) fail(name, `tensor "${key}": data_offsets [${b}, ${end}] out of range (the data section has ${dataLen} bytes)`);
    let count = 1;
    for (const d of shape) count *= d;
    const need = count * DTYPE[dtype].size;
    if (need !== end - b) {
      fail(name, `tensor "${key}": dtype ${dtype} with shape ${formatShape(shape)} needs ${need} bytes, but its data_offsets span ${end - b}`);
    }
    spans.push([b, end, key]);
    entries.push([key, dtype, shape, b, end]);
  }
  spans.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let at = 0;
  for (const [b, end, key] of spans) {
    if (b !== at) fail(name, b < at ? `tensor "${key}" overlaps the previous tensor (offset ${b} < ${at})` : `a hole of ${b - at} bytes before tensor "${key}" (offset ${b})`);
    at = end;
  }
  if (at !== dataLen) fail(name, `${dataLen - at} bytes after the last tensor are not described by the header`);
  const tensors = new Map<string, SafeTensor>();
  for (const [key, dtype, shape, b, end] of entries) {
    const ab = new ArrayBuffer(end - b);
    new Uint8Array(ab).set(buf.subarray(dataStart + b, dataStart + end));
    tensors.set(key, { dtype, shape, data: new DTYPE[dtype].ctor(ab) });
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): SafetensorsFile {
  return decodeSafetensors(fs.readFileSync(file), `"${file}"`);
}

/** float16 bits → float32 value (exact). */
export function f16ToF32(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!, s = v & 0x8000 ? -1 : 1, e = (v >> 10) & 0x1f, m = v & 0x3ff;
    out[i] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** float32 → float16 bits, round to nearest even (overflow → ±Inf, NaN → quiet NaN). */
export function f32ToF16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  for (let i = 0; i < x.length; i++) {
    f[0] = x[i]!;
    const bits = u[0]!, sign = (bits >>> 16) & 0x8000, exp = (bits >>> 23) & 0xff, man = bits & 0x7fffff;
    let h: number;
    if (exp === 0xff) h = sign | 0x7c00 | (man ? 0x200 : 0);
    else {
      const e = exp - 127 + 15;
      if (e >= 31) h = sign | 0x7c00;
      else if (e <= 0) {
        if (e < -10) h = sign;
        else {
          const mm = man | 0x800000, shift = 14 - e;
          let q = mm >>> shift;
          const rem = mm & ((1 << shift) - 1), half = 1 << (shift - 1);
          if (rem > half || (rem === half && (q & 1))) q++;
          h = sign | q;
        }
      } else {
        let q = (e << 10) | (man >>> 13);
        const rem = man & 0x1fff;
        if (rem > 0x1000 || (rem === 0x1000 && (q & 1))) q++;
        h = sign | q;
      }
    }
    out[i] = h;
  }
  return out;
}
