/**
 * Atomic file replacement: write a temporary file in the target's directory, fsync it, rename it over the target,
 * then fsync the directory so the rename itself is durable. A crash at any point leaves either the old file or the
 * new one, never a mix; at worst a stray `<name>.tmp-<pid>-<n>` file remains (safe to delete).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DistiqError } from '../errors';

let counter = 0;

export function writeFileAtomic(file: string, data: Uint8Array): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `${path.basename(file)}.tmp-${process.pid}-${counter++}`);
  let fd: number | null = null;
  try {
    fd = fs.openSync(tmp, 'w', 0o644);
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, Math.min(data.length - off, 1 << 24));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw new DistiqError(`Cannot write "${file}": ${(err as Error).message}`, 'ERR_DISTIQ_INVALID_ARG_VALUE', { cause: err });
  }
  let dfd: number | null = null;
  try {
    dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
  } catch {
    // Some file systems cannot fsync a directory; the rename has happened either way.
  } finally {
    if (dfd !== null) fs.closeSync(dfd);
  }
}
