/**
 * Built-in datasets.
 * - `digits()`: UCI optical digits (1797 8×8 images, classes 0–9), embedded in data/digits.csv.gz (CC BY 4.0, see
 *   data/README.md). Pixels 0..16 scaled to [0, 1]; samples [64], or [1, 8, 8] with `image: true`.
 * - `fashionMnist(dir?)`: Fashion-MNIST from the four IDX files (gzipped or not) in `dir` (default
 *   /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist): train 60000 and test 10000 images, uint8/255,
 *   samples [784], or [1, 28, 28] with `image: true`. A missing or corrupt file is an error naming it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DistiqError, DistiqRangeError } from '../errors';
import { readCsv } from './csv';
import { TensorDataset } from './dataset';
import { readIdx } from './idx';

export interface BuiltinOptions {
  /** Samples as [C, H, W] images instead of flat vectors (default false). */
  image?: boolean;
}

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

export function digits(options: BuiltinOptions = {}): TensorDataset {
  const t = readCsv(path.join(PACKAGE_ROOT, 'data', 'digits.csv.gz'));
  if (t.cols !== 65) throw new DistiqRangeError(`data/digits.csv.gz: expected 65 columns, found ${t.cols}`);
  const x = new Float32Array(t.rows * 64);
  const y = new Int32Array(t.rows);
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < 64; c++) x[r * 64 + c] = t.data[r * 65 + c]! / 16;
    y[r] = t.data[r * 65 + 64]!;
  }
  return new TensorDataset(x, y, options.image ? [1, 8, 8] : [64], 10);
}

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionMnist {
  train: TensorDataset;
  test: TensorDataset;
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  throw new DistiqError(
    `Fashion-MNIST file "${base}" (or "${base}.gz") is missing in "${dir}". Install it with ` +
      '`apt-get install dataset-fashion-mnist` or pass the directory holding the four IDX files.',
    'ERR_DISTIQ_INVALID_ARG_VALUE',
  );
}

function loadSplit(dir: string, prefix: 'train' | 't10k', image: boolean): TensorDataset {
  const imgFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readIdx(imgFile), lab = readIdx(labFile);
  if (img.type !== 'uint8' || img.shape.length !== 3) {
    throw new DistiqRangeError(`"${imgFile}" is not an IDX uint8 [N, H, W] image file (found ${img.type} [${img.shape.join(', ')}])`);
  }
  if (lab.type !== 'uint8' || lab.shape.length !== 1) {
    throw new DistiqRangeError(`"${labFile}" is not an IDX uint8 [N] label file (found ${lab.type} [${lab.shape.join(', ')}])`);
  }
  const [n, h, w] = img.shape as [number, number, number];
  if (lab.shape[0] !== n) throw new DistiqRangeError(`"${labFile}" holds ${lab.shape[0]} labels but "${imgFile}" holds ${n} images`);
  const px = img.data as Uint8Array;
  const x = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) x[i] = px[i]! / 255;
  const y = Int32Array.from(lab.data as Uint8Array);
  for (let i = 0; i < n; i++) if (y[i]! > 9) throw new DistiqRangeError(`"${labFile}": label ${i} is ${y[i]}, expected 0..9`);
  return new TensorDataset(x, y, image ? [1, h, w] : [h * w], 10);
}

export function fashionMnist(dir: string = FASHION_MNIST_DIR, options: BuiltinOptions = {}): FashionMnist {
  if (!fs.existsSync(dir)) {
    throw new DistiqError(`Fashion-MNIST directory "${dir}" does not exist (apt-get install dataset-fashion-mnist, or pass a directory)`, 'ERR_DISTIQ_INVALID_ARG_VALUE');
  }
  const image = options.image ?? false;
  return { train: loadSplit(dir, 'train', image), test: loadSplit(dir, 't10k', image) };
}
