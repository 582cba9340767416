/**
 * Builds the C++ peer drivers (bench/peers/*_peer.cc) on demand into bench/peers/build/ (git-ignored).
 *
 * - `g++ -O2 -std=c++17` plus the program's own flags (-fopenmp -ldnnl, -lopenblas, -pthread); `$CXX` overrides g++.
 * - Rebuilds when the binary is missing, older than its source or peer_common.h, or was built with another command
 *   line (recorded next to the binary in `<program>.cmd`).
 * - A missing compiler, header or shared library is not an error: the result is `{ skipped: reason }` naming the
 *   Debian package to install. A compile error in a present toolchain IS an error (thrown with the compiler output).
 * - Concurrent builds (two peers of the same program, or two bench processes) are safe: one build per program per
 *   process, and the binary is written to a temporary name and renamed into place.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type PeerProgram = 'onednn_peer' | 'openblas_peer' | 'machine_peer';

export interface Built {
  /** Absolute path of the executable. */
  path: string;
  /** True when this call compiled it. */
  rebuilt: boolean;
}

export interface Skipped {
  skipped: string;
}

interface Requirement {
  /** A header that must be found on the compiler's include path. */
  header?: string;
  /** A shared library the linker must find (`g++ -print-file-name`). */
  library?: string;
  /** Debian package that provides both. */
  aptPackage?: string;
}

interface ProgramSpec {
  flags: string[];
  libs: string[];
  requires: Requirement[];
}

const PROGRAMS: Record<PeerProgram, ProgramSpec> = {
  onednn_peer: {
    flags: ['-fopenmp'],
    libs: ['-ldnnl'],
    requires: [{ header: 'oneapi/dnnl/dnnl.hpp', library: 'libdnnl.so', aptPackage: 'libdnnl-dev' }],
  },
  openblas_peer: {
    flags: [],
    libs: ['-lopenblas'],
    requires: [{ header: 'cblas.h', library: 'libopenblas.so', aptPackage: 'libopenblas-dev' }],
  },
  machine_peer: { flags: ['-pthread'], libs: [], requires: [] },
};

const BASE_FLAGS = ['-O2', '-std=c++17', '-Wall', '-Wextra'];

function run(file: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      let code = 0;
      if (err) {
        const c = (err as NodeJS.ErrnoException & { code?: unknown }).code;
        code = typeof c === 'number' ? c : -1;
        if (typeof c === 'string') stderr = `${stderr}${stderr ? '\n' : ''}${c}: ${err.message}`;
      }
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (input !== undefined && child.stdin) {
      child.stdin.on('error', () => {
        /* the program exited without reading its input: its exit status tells */
      });
      child.stdin.end(input);
    }
  });
}

/** The directory holding the peer sources: found by walking up from this module (compiled or not) and the cwd. */
export function peersDir(): string {
  const marker = 'machine_peer.cc';
  for (const start of [__dirname, process.cwd()]) {
    let dir = start;
    for (;;) {
      if (fs.existsSync(path.join(dir, marker))) return dir;
      const nested = path.join(dir, 'bench', 'peers');
      if (fs.existsSync(path.join(nested, marker))) return nested;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`bench/peers sources not found (looked for ${marker} above ${__dirname} and ${process.cwd()})`);
}

function compiler(): string {
  return process.env.CXX && process.env.CXX.trim() !== '' ? process.env.CXX.trim() : 'g++';
}

let includeDirsCache: Promise<string[] | Skipped> | undefined;

/** The compiler's system include search list (`g++ -E -v`), or a skip when there is no working C++ compiler. */
function includeDirs(): Promise<string[] | Skipped> {
  includeDirsCache ??= (async () => {
    const cxx = compiler();
    const r = await run(cxx, ['-x', 'c++', '-E', '-v', '-'], '');
    if (r.code !== 0) {
      return { skipped: `C++ compiler "${cxx}" not usable (${firstLine(r.stderr)}): apt-get install g++` };
    }
    const lines = r.stderr.split('\n');
    const begin = lines.findIndex((l) => l.startsWith('#include <...> search starts here'));
    const end = lines.findIndex((l) => l.startsWith('End of search list'));
    return begin >= 0 && end > begin ? lines.slice(begin + 1, end).map((l) => l.trim()) : [];
  })();
  return includeDirsCache;
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '');
  return line ? line.trim() : 'no output';
}

async function missingRequirement(req: Requirement): Promise<string | undefined> {
  const dirs = await includeDirs();
  if (!Array.isArray(dirs)) return dirs.skipped;
  const pkg = req.aptPackage ? `: apt-get install ${req.aptPackage}` : '';
  if (req.header && !dirs.some((d) => fs.existsSync(path.join(d, req.header as string)))) {
    return `${req.aptPackage ?? req.header} not installed (header <${req.header}> not found)${pkg}`;
  }
  if (req.library) {
    const r = await run(compiler(), [`-print-file-name=${req.library}`]);
    const found = r.stdout.trim();
    if (r.code !== 0 || !path.isAbsolute(found) || !fs.existsSync(found)) {
      return `${req.aptPackage ?? req.library} not installed (${req.library} not found by the linker)${pkg}`;
    }
  }
  return undefined;
}

function mtimeMs(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

const inFlight = new Map<PeerProgram, Promise<Built | Skipped>>();

/**
 * Returns the path of an up-to-date executable for `program`, building it if needed, or `{ skipped }` when a
 * dependency is missing. Throws on a compile error (with the compiler's output).
 */
export function buildPeer(program: PeerProgram, options: { force?: boolean } = {}): Promise<Built | Skipped> {
  let pending = inFlight.get(program);
  if (!pending) {
    pending = buildUncached(program, options.force === true).finally(() => inFlight.delete(program));
    inFlight.set(program, pending);
  }
  return pending;
}

async function buildUncached(program: PeerProgram, force: boolean): Promise<Built | Skipped> {
  const spec = PROGRAMS[program];
  if (!spec) throw new Error(`unknown peer program "${String(program)}"`);
  const dir = peersDir();
  const source = path.join(dir, `${program}.cc`);
  const common = path.join(dir, 'peer_common.h');
  const outDir = path.join(dir, 'build');
  const exe = path.join(outDir, program);
  const cmdFile = path.join(outDir, `${program}.cmd`);

  for (const req of spec.requires) {
    const reason = await missingRequirement(req);
    if (reason) return { skipped: reason };
  }
  const cxx = compiler();
  const args = [...BASE_FLAGS, ...spec.flags, source, '-o', exe, ...spec.libs];
  const command = [cxx, ...args].join(' ');

  const exeTime = mtimeMs(exe);
  const recorded = fs.existsSync(cmdFile) ? fs.readFileSync(cmdFile, 'utf8') : '';
  const fresh = exeTime >= 0 && exeTime >= mtimeMs(source) && exeTime >= mtimeMs(common) && recorded === command;
  if (fresh && !force) return { path: exe, rebuilt: false };

  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${exe}.tmp-${process.pid}`;
  const tmpArgs = [...BASE_FLAGS, ...spec.flags, source, '-o', tmp, ...spec.libs];
  const r = await run(cxx, tmpArgs);
  if (r.code !== 0) {
    fs.rmSync(tmp, { force: true });
    if (r.stderr.includes('ENOENT')) return { skipped: `C++ compiler "${cxx}" not found: apt-get install g++` };
    throw new Error(`building ${program} failed (${command}):\n${r.stderr.trim()}`);
  }
  fs.renameSync(tmp, exe);
  fs.writeFileSync(cmdFile, command);
  return { path: exe, rebuilt: true };
}
