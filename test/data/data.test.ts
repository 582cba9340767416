import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { afterAll, describe, expect, it } from 'vitest';

import {
  DataLoader, TensorDataset, digits, encodeNpy, fashionMnist, parseCsv, parseIdx, parseNpy, readIdx, readNpy, writeNpy,
} from '../../lib';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distiq-data-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** IDX bytes written from the format description (big-endian dims and values). */
function idx(type: number, shape: number[], values: number[], size: number, put: (dv: DataView, o: number, v: number) => void): Buffer {
  const head = 4 + 4 * shape.length;
  const b = Buffer.alloc(head + values.length * size);
  b[2] = type;
  b[3] = shape.length;
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  values.forEach((v, i) => put(dv, head + i * size, v));
  return b;
}
const u8 = (shape: number[], v: number[]): Buffer => idx(0x08, shape, v, 1, (dv, o, x) => dv.setUint8(o, x));

describe('IDX', () => {
  it('reads every element type, gzipped or not', () => {
    const vals = [1, -2, 3, -4, 5, 6];
    const cases: [number, number, (dv: DataView, o: number, v: number) => void, string][] = [
      [0x09, 1, (dv, o, v) => dv.setInt8(o, v), 'int8'],
      [0x0b, 2, (dv, o, v) => dv.setInt16(o, v, false), 'int16'],
      [0x0c, 4, (dv, o, v) => dv.setInt32(o, v, false), 'int32'],
      [0x0d, 4, (dv, o, v) => dv.setFloat32(o, v, false), 'float32'],
      [0x0e, 8, (dv, o, v) => dv.setFloat64(o, v, false), 'float64'],
    ];
    for (const [code, size, put, type] of cases) {
      const a = parseIdx(idx(code, [2, 3], vals, size, put));
      expect(a.type).toBe(type);
      expect(a.shape).toEqual([2, 3]);
      expect(Array.from(a.data)).toEqual(vals);
    }
    const f = path.join(tmp, 'x.idx.gz');
    fs.writeFileSync(f, zlib.gzipSync(u8([3], [7, 8, 255])));
    expect(Array.from(readIdx(f).data)).toEqual([7, 8, 255]);
  });

  it('names the problem: bad magic, truncation, unknown type, bad gzip, missing file', () => {
    expect(() => parseIdx(Buffer.from([1, 2, 3, 4]))).toThrow(/not an IDX file/);
    expect(() => parseIdx(u8([4], [1, 2, 3, 4]).subarray(0, 10))).toThrow(/needs 12 bytes, the file has 10 \(truncated\)/);
    expect(() => parseIdx(Buffer.from([0, 0, 0x42, 0]))).toThrow(/unknown IDX element type 0x42/);
    expect(() => parseIdx(Buffer.from([0, 0, 8, 2, 0, 0]))).toThrow(/truncated inside its header/);
    const bad = path.join(tmp, 'bad.gz');
    fs.writeFileSync(bad, Buffer.concat([zlib.gzipSync(u8([3], [1, 2, 3])).subarray(0, 15)]));
    expect(() => readIdx(bad)).toThrow(/bad.gz" is a corrupt gzip file/);
    expect(() => readIdx(path.join(tmp, 'nope'))).toThrow(/Cannot read ".*nope": no such file/);
  });
});

describe('CSV', () => {
  it('parses numbers with an optional header', () => {
    const t = parseCsv('a, b\n1, 2.5\r\n-3,4e2\n\n', { header: true });
    expect(t.header).toEqual(['a', 'b']);
    expect([t.rows, t.cols]).toEqual([2, 2]);
    expect(Array.from(t.data)).toEqual([1, 2.5, -3, 400]);
    expect(parseCsv('1;2', { delimiter: ';' }).cols).toBe(2);
  });

  it('names the offending line and cell', () => {
    expect(() => parseCsv('1,2\n3')).toThrow(/line 2: expected 2 cells, found 1/);
    expect(() => parseCsv('1,2\n3,x')).toThrow(/line 2, column 2: "x" is not a number/);
    expect(() => parseCsv('')).toThrow(/no data rows/);
  });
});

describe('.npy', () => {
  it('round-trips every supported dtype', () => {
    const arrays = [
      Float32Array.of(1.5, -2), Float64Array.of(Math.PI, 1e-300), Int8Array.of(-128, 127), Uint8Array.of(0, 255),
      Int16Array.of(-3, 3), Uint16Array.of(65535, 1), Int32Array.of(-(2 ** 31), 5), Uint32Array.of(2 ** 32 - 1, 0),
      BigInt64Array.of(-5n, 2n ** 62n), BigUint64Array.of(2n ** 64n - 1n, 0n),
    ];
    for (const a of arrays) {
      const b = encodeNpy(a, [1, 2]);
      expect((b.length - a.byteLength) % 64).toBe(0);
      const r = parseNpy(b);
      expect(r.shape).toEqual([1, 2]);
      expect(r.data.constructor).toBe(a.constructor);
      expect(Array.from(r.data as ArrayLike<unknown>)).toEqual(Array.from(a as ArrayLike<unknown>));
    }
    const f = path.join(tmp, 'a.npy');
    writeNpy(f, Float32Array.of(1, 2, 3));
    const r = readNpy(f);
    expect([r.descr, r.shape]).toEqual(['<f4', [3]]);
  });

  it('reads a header exactly as NumPy writes it, and rejects what it cannot read', () => {
    // np.save of np.arange(3, dtype='<i4').reshape(3, 1): header dict padded to 64 bytes in total.
    const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3, 1), }";
    const head = Buffer.alloc(128, 0x20);
    head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    head.writeUInt16LE(118, 8);
    head.write(dict, 10, 'latin1');
    head[127] = 0x0a;
    const file = Buffer.concat([head, Buffer.from(Int32Array.of(0, 1, 2).buffer)]);
    const r = parseNpy(file);
    expect(r.shape).toEqual([3, 1]);
    expect(Array.from(r.data as Int32Array)).toEqual([0, 1, 2]);
    expect(() => parseNpy(Buffer.from(file.toString('latin1').replace('False', 'True'), 'latin1'))).toThrow(/Fortran-order/);
    expect(() => parseNpy(Buffer.from(file.toString('latin1').replace('<i4', '>i4'), 'latin1'))).toThrow(/unsupported dtype ">i4"/);
    expect(() => parseNpy(file.subarray(0, 134))).toThrow(/needs 12 data bytes, the file has 6/);
    expect(() => parseNpy(Buffer.from('hello world'))).toThrow(/bad magic/);
    expect(() => encodeNpy(Float32Array.of(1, 2), [3])).toThrow(/shape \(3\)/);
  });
});

describe('TensorDataset and DataLoader', () => {
  const x = Float32Array.from({ length: 20 }, (_, i) => i);
  const ds = new TensorDataset(x, Int32Array.from({ length: 10 }, (_, i) => i % 3), [2]);

  it('batches in order, with a short last batch unless dropLast', () => {
    const dl = new DataLoader(ds, { batchSize: 4 });
    const got: unknown[] = [];
    for (const b of dl) got.push([b.size, Array.from(b.y)]);
    expect(got).toEqual([[4, [0, 1, 2, 0]], [4, [1, 2, 0, 1]], [2, [2, 0]]]);
    expect(dl.length).toBe(3);
    const dropped = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropped.length).toBe(2);
    const shapes: unknown[] = [];
    for (const b of dropped) shapes.push(b.x.shape);
    expect(shapes).toEqual([[4, 2], [4, 2]]);
  });

  it('shuffles with a seed: each epoch a permutation, reproducible, restorable', () => {
    const epoch = (dl: DataLoader): number[] => {
      const seen: number[] = [];
      for (const b of dl) for (let i = 0; i < b.size; i++) seen.push(b.x.data[2 * i]! / 2);
      return seen;
    };
    const a = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 9 });
    const b = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 9 });
    const e1 = epoch(a);
    expect([...e1].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e1).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(epoch(b)).toEqual(e1);
    const state = a.rng.getState();
    const e2 = epoch(a);
    expect(e2).not.toEqual(e1);
    const c = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 1 });
    c.rng.setState(state);
    expect(epoch(c)).toEqual(e2);
  });

  it('rejects bad datasets and options', () => {
    expect(() => new TensorDataset(new Float32Array(0), new Int32Array(0), [2])).toThrow(/empty/);
    expect(() => new TensorDataset(new Float32Array(5), new Int32Array(3), [2])).toThrow(/Expected x.length to equal 6/);
    expect(() => new TensorDataset(new Float32Array(6), Int32Array.of(0, -1, 0), [2])).toThrow(/y\[1\] is -1/);
    expect(() => new TensorDataset(new Float32Array(6), Int32Array.of(0, 5, 0), [2], 3)).toThrow(/labels in \[0, 2\].*found label 5/);
    expect(() => new DataLoader(ds, { batchSize: 0 })).toThrow(/"batchSize"/);
    expect(() => new DataLoader(ds, { batchSize: 11, dropLast: true })).toThrow(/no batch would be produced/);
    expect(() => new DataLoader({} as never, { batchSize: 1 })).toThrow(/must be a Dataset/);
  });
});

describe('built-in datasets', () => {
  it('digits(): 1797 samples of 64 pixels in [0, 1], 10 classes', () => {
    const d = digits();
    expect(d.length).toBe(1797);
    expect(d.sampleShape).toEqual([64]);
    expect(d.numClasses).toBe(10);
    let max = 0;
    for (const v of d.x) max = Math.max(max, v);
    expect(max).toBe(1);
    const counts = new Array<number>(10).fill(0);
    for (const v of d.y) counts[v]!++;
    for (const c of counts) expect(c).toBeGreaterThan(170);
    expect(digits({ image: true }).sampleShape).toEqual([1, 8, 8]);
  });

  function fakeFashion(dir: string, gz: boolean, nTrain = 3): void {
    fs.mkdirSync(dir, { recursive: true });
    const w = (name: string, b: Buffer): void => fs.writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? zlib.gzipSync(b) : b);
    w('train-images-idx3-ubyte', u8([nTrain, 2, 2], Array.from({ length: nTrain * 4 }, (_, i) => (i * 17) % 256)));
    w('train-labels-idx1-ubyte', u8([3], [0, 9, 4]));
    w('t10k-images-idx3-ubyte', u8([1, 2, 2], [255, 0, 51, 102]));
    w('t10k-labels-idx1-ubyte', u8([1], [7]));
  }

  it('fashionMnist(dir) reads the four files, gzipped or not', () => {
    for (const gz of [true, false]) {
      const dir = path.join(tmp, gz ? 'fm-gz' : 'fm-raw');
      fakeFashion(dir, gz);
      const { train, test } = fashionMnist(dir);
      expect([train.length, test.length]).toEqual([3, 1]);
      expect(train.sampleShape).toEqual([4]);
      expect(Array.from(train.y)).toEqual([0, 9, 4]);
      expect(Array.from(test.x)).toEqual([1, 0, 0.2, 0.4].map((v) => Math.fround(v)));
      expect(fashionMnist(dir, { image: true }).test.sampleShape).toEqual([1, 2, 2]);
    }
  });

  it('fashionMnist names a missing or corrupt file', () => {
    const dir = path.join(tmp, 'fm-broken');
    fakeFashion(dir, false);
    fs.rmSync(path.join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => fashionMnist(dir)).toThrow(/"t10k-labels-idx1-ubyte" \(or "t10k-labels-idx1-ubyte.gz"\) is missing in ".*fm-broken"/);
    fakeFashion(dir, false, 4);
    expect(() => fashionMnist(dir)).toThrow(/holds 3 labels but ".*train-images-idx3-ubyte" holds 4 images/);
    fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), u8([3, 2, 2], [1, 2, 3]));
    expect(() => fashionMnist(dir)).toThrow(/train-images-idx3-ubyte": shape \[3, 2, 2\] of uint8 needs 28 bytes, the file has 19 \(truncated\)/);
    expect(() => fashionMnist(path.join(tmp, 'no-such-dir'))).toThrow(/does not exist/);
  });
});
