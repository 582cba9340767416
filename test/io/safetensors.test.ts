import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  decodeSafetensors, encodeSafetensors, f16ToF32, f32ToF16, readSafetensors, type SafeTensor,
} from '../../lib';
import { Rng } from '../helpers/rng';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-st-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const PY = '/usr/bin/python3';
const SPEC = path.join(__dirname, 'safetensors_spec.py');

function sample(): Map<string, SafeTensor> {
  const rng = new Rng(31);
  return new Map<string, SafeTensor>([
    ['layer.weight', { dtype: 'F32', shape: [3, 4], data: rng.float32Array(12, -5, 5) }],
    ['half', { dtype: 'F16', shape: [3], data: f32ToF16(Float32Array.of(1.5, -0.25, 65504)) }],
    ['q', { dtype: 'I8', shape: [2, 2], data: Int8Array.of(-128, -1, 0, 127) }],
    ['u', { dtype: 'U8', shape: [1], data: Uint8Array.of(255) }],
    ['idx', { dtype: 'I32', shape: [2], data: Int32Array.of(-(2 ** 31), 2 ** 31 - 1) }],
    ['empty', { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) }],
  ]);
}

/** A file from a header object and data bytes (for malformed cases). */
function raw(header: unknown, data: Uint8Array = new Uint8Array(0), lenOverride?: bigint): Buffer {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const b = Buffer.alloc(8 + h.length + data.length);
  b.writeBigUInt64LE(lenOverride ?? BigInt(h.length), 0);
  h.copy(b, 8);
  b.set(data, 8 + h.length);
  return b;
}

describe('safetensors', () => {
  it('round-trips every dtype, the metadata and the layout rules (8-byte aligned header)', () => {
    const t = sample();
    const buf = encodeSafetensors(t, { config: '{"a":1}' });
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const back = decodeSafetensors(buf);
    expect(back.metadata).toEqual({ config: '{"a":1}' });
    expect([...back.tensors.keys()]).toEqual([...t.keys()]);
    for (const [name, v] of t) {
      const r = back.tensors.get(name)!;
      expect(r.dtype).toBe(v.dtype);
      expect(r.shape).toEqual(v.shape);
      expect(r.data.constructor).toBe(v.data.constructor);
      expect(Array.from(r.data)).toEqual(Array.from(v.data));
    }
  });

  // The interop tests need python3 + numpy (CI installs python3-numpy). Missing either is a failure, not a skip.
  it('the independent reader runs: python3 with numpy is installed', () => {
    let out = '';
    try {
      out = execFileSync(PY, [SPEC, 'check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw new Error(`${PY} ${SPEC} check failed: python3 and numpy (Debian python3-numpy) are required: ${(e as Error).message}`);
    }
    expect(out).toMatch(/^numpy \d+\.\d+/);
  });

  it('files written by distiq read back identically with an independent Python (numpy) reader', () => {
    const f = path.join(tmp, 'distiq.safetensors');
    const t = sample();
    const rng = new Rng(77);
    t.set('big', { dtype: 'F32', shape: [33, 31], data: rng.float32Array(33 * 31, -1e4, 1e4) });
    t.get('big')!.data[5] = -0;
    t.get('big')!.data[6] = 1.1754942e-38; // subnormal
    fs.writeFileSync(f, encodeSafetensors(t, { config: '{"type":"Sequential"}', note: 'ü' }));
    const out = JSON.parse(execFileSync(PY, [SPEC, 'read', f], { encoding: 'utf8', maxBuffer: 1 << 26 })) as {
      metadata: Record<string, string>;
      tensors: Record<string, { dtype: string; shape: number[]; values: number[]; bits: number[] }>;
    };
    expect(out.metadata).toEqual({ config: '{"type":"Sequential"}', note: 'ü' });
    expect(Object.keys(out.tensors).sort()).toEqual([...t.keys()].sort());
    for (const [name, v] of t) {
      const p = out.tensors[name]!;
      expect([p.dtype, p.shape], name).toEqual([v.dtype, v.shape]);
      const want = v.dtype === 'F16' ? Array.from(f16ToF32(v.data as Uint16Array)) : Array.from(v.data);
      expect(p.values, name).toEqual(want);
      const d = v.data;
      const words = v.dtype === 'F32' || v.dtype === 'I32' ? new Uint32Array(d.buffer, d.byteOffset, d.length)
        : v.dtype === 'F16' ? (d as Uint16Array) : new Uint8Array(d.buffer, d.byteOffset, d.length);
      expect(p.bits, name).toEqual(Array.from(words));
    }
  });

  it('files written by Python (numpy) from the spec load in distiq', () => {
    const f = path.join(tmp, 'python.safetensors');
    execFileSync(PY, [SPEC, 'write', f], { stdio: ['ignore', 'pipe', 'pipe'] });
    const { tensors, metadata } = readSafetensors(f);
    expect(metadata).toEqual({ config: '{"type":"ReLU"}', who: 'python+numpy' });
    expect([...tensors.keys()]).toEqual(['w', 'h', 'q', 'u', 'idx', 'big']);
    expect(Array.from(tensors.get('w')!.data)).toEqual([0, 1, 2, 3, 4, 5].map((i) => Math.fround((i - 2.5) / 3)));
    expect(Array.from(f16ToF32(tensors.get('h')!.data as Uint16Array))).toEqual([-1, -0.5, 0, 0.5]);
    expect(Array.from(tensors.get('q')!.data)).toEqual([-128, -1, 0, 1, 127]);
    expect(Array.from(tensors.get('u')!.data)).toEqual([0, 128, 255]);
    expect(Array.from(tensors.get('idx')!.data)).toEqual([-(2 ** 31), 2 ** 31 - 1]);
    expect(tensors.get('w')!.shape).toEqual([2, 3]);
    const big = tensors.get('big')!;
    expect([big.dtype, big.shape]).toEqual(['F32', [1, 257]]);
    const want = Array.from({ length: 257 }, (_, i) => (((37 * i) % 257) - 128) * 2 ** ((i % 41) - 20));
    expect(Array.from(big.data)).toEqual(want);
  });

  it('malformed files give clear errors, never a crash or a huge allocation', () => {
    const good = encodeSafetensors(sample());
    const cases: [string, Uint8Array, RegExp][] = [
      ['truncated before the length', good.subarray(0, 5), /truncated: 5 bytes/],
      ['truncated data', good.subarray(0, good.length - 3), /3 bytes after|out of range|data_offsets/],
      ['header length beyond the file', raw('{}', new Uint8Array(0), 2n ** 62n), /bad header length 4611686018427387904/],
      ['header length past the end', good.subarray(0, 20), /bad header length \d+: only 12 bytes follow/],
      ['invalid JSON', raw('{"a": [1,'), /header is not valid JSON/],
      ['not an object', raw('[1, 2]'), /must be a JSON object/],
      ['unknown dtype', raw({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "a": unsupported dtype string "F64"/],
      ['dtype/shape mismatch', raw({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "a": dtype F32 with shape \[3\] needs 12 bytes, but its data_offsets span 8/],
      ['offsets out of range', raw({ a: { dtype: 'U8', shape: [16], data_offsets: [0, 16] } }, new Uint8Array(8)), /data_offsets \[0, 16\] out of range \(the data section has 8 bytes\)/],
      ['huge offsets', raw({ a: { dtype: 'U8', shape: [2 ** 40], data_offsets: [0, 2 ** 40] } }, new Uint8Array(8)), /out of range/],
      ['overlap', raw({ a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } }, new Uint8Array(6)), /"b" overlaps/],
      ['hole', raw({ a: { dtype: 'U8', shape: [2], data_offsets: [2, 4] } }, new Uint8Array(4)), /a hole of 2 bytes before tensor "a"/],
      ['trailing bytes', raw({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(4)), /2 bytes after the last tensor/],
      ['bad shape', raw({ a: { dtype: 'U8', shape: [-1], data_offsets: [0, 0] } }), /bad shape \[-1\]/],
      ['bad offsets', raw({ a: { dtype: 'U8', shape: [1], data_offsets: [0] } }, new Uint8Array(1)), /bad data_offsets \[0\]/],
      ['metadata not strings', raw({ __metadata__: { a: 1 } }), /"__metadata__"."a" must be a string/],
    ];
    for (const [what, bytes, re] of cases) {
      expect(() => decodeSafetensors(bytes, 'f'), what).toThrow(re);
      try {
        decodeSafetensors(bytes);
      } catch (e) {
        expect((e as { code: string }).code, what).toBe('ERR_DISTIQ_INVALID_ARG_VALUE');
      }
    }
  });

  it('rejects bad tensors on write', () => {
    expect(() => encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [2], data: new Int8Array(2) } as never]]))).toThrow(/must hold a Float32Array/);
    expect(() => encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [3], data: new Float32Array(2) }]]))).toThrow(/needs 3 elements, data has 2/);
    expect(() => encodeSafetensors(new Map([['__metadata__', { dtype: 'U8', shape: [0], data: new Uint8Array(0) }]]))).toThrow(/reserved/);
  });

  it('float16 conversion rounds to nearest even and handles the extremes', () => {
    const x = Float32Array.of(0, -0, 1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 1e-8, 2 ** -24, 2 ** -25, 3 * 2 ** -25, Infinity, NaN);
    const h = f32ToF16(x);
    expect(Array.from(h.slice(0, 12))).toEqual([0, 0x8000, 0x3c00, 0x3c00, 0x3c02, 0x7bff, 0x7c00, 0, 1, 0, 2, 0x7c00]);
    expect(Number.isNaN(f16ToF32(h)[12])).toBe(true);
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = f32ToF16(f16ToF32(all));
    for (let i = 0; i < 65536; i++) {
      const isNan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
      if (!isNan && back[i] !== i) throw new Error(`f16 ${i.toString(16)} round-trips to ${back[i]!.toString(16)}`);
    }
  });
});
