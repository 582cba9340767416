/**
 * Numeric CSV: one record per line (LF or CRLF), cells separated by `delimiter` (default ','), every cell a number
 * (JavaScript number syntax, surrounding spaces allowed); an optional header line of names. No quoting: this reader
 * is for numeric tables (features + label), and says so when it meets text. `.gz` files are inflated.
 */
import { DistiqRangeError } from '../errors';
import { readMaybeGzip } from './idx';

export interface CsvTable {
  header: string[] | null;
  rows: number;
  cols: number;
  /** Row-major values. */
  data: Float64Array;
}

export interface CsvOptions {
  header?: boolean;
  delimiter?: string;
}

export function parseCsv(text: string, options: CsvOptions = {}, name = 'CSV data'): CsvTable {
  const delim = options.delimiter ?? ',';
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  let header: string[] | null = null;
  let first = 0;
  if (options.header) {
    if (lines.length === 0) throw new DistiqRangeError(`${name} is empty (expected a header line)`);
    header = lines[0]!.split(delim).map((h) => h.trim());
    first = 1;
  }
  const rows = lines.length - first;
  if (rows <= 0) throw new DistiqRangeError(`${name} has no data rows`);
  const cols = lines[first]!.split(delim).length;
  if (header && header.length !== cols) {
    throw new DistiqRangeError(`${name}: the header has ${header.length} names, the first row ${cols} cells`);
  }
  const data = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const cells = lines[first + r]!.split(delim);
    const line = first + r + 1;
    if (cells.length !== cols) throw new DistiqRangeError(`${name} line ${line}: expected ${cols} cells, found ${cells.length}`);
    for (let c = 0; c < cols; c++) {
      const s = cells[c]!.trim();
      const v = s === '' ? NaN : Number(s);
      if (Number.isNaN(v) && s !== 'NaN') {
        throw new DistiqRangeError(`${name} line ${line}, column ${c + 1}: ${JSON.stringify(cells[c])} is not a number`);
      }
      data[r * cols + c] = v;
    }
  }
  return { header, rows, cols, data };
}

export function readCsv(file: string, options: CsvOptions = {}): CsvTable {
  return parseCsv(readMaybeGzip(file).toString('utf8'), options, `"${file}"`);
}
