import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { cpuInfo, getNumThreads, setNumThreads } from '../../lib';
import { native } from '../../lib/native';

const root = path.resolve(__dirname, '../..');
const X86_LEVELS = ['ref', 'avx2', 'avxvnni', 'avx512', 'avx512vnni', 'amx'];
const ARM_LEVELS = ['ref', 'neon', 'neondot', 'i8mm'];

/** Runs a snippet in a fresh Node process with the TS sources compiled in dist/ (built by `npm test`). */
function nodeWith(env: Record<string, string>, code: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', code], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The ISA suffix of a kernel name such as "gemm_u8s8s32_avx512vnni". */
function suffix(kernel: string): string {
  return kernel.slice(kernel.lastIndexOf('_') + 1);
}

describe('cpuInfo', () => {
  const info = cpuInfo();

  it('reports the architecture, features and an active level this CPU supports', () => {
    expect(['x64', 'arm64']).toContain(info.arch);
    expect(info.available[0]).toBe('ref');
    expect(info.available).toContain(info.isa);
    expect(info.available).toContain(info.best);
    const order = info.arch === 'x64' ? X86_LEVELS : ARM_LEVELS;
    for (const level of info.available) expect(order).toContain(level);
    expect(Array.isArray(info.features)).toBe(true);
    if (info.available.includes('avx2')) expect(info.features).toEqual(expect.arrayContaining(['avx2', 'fma']));
    if (info.available.includes('avx512vnni')) expect(info.features).toContain('avx512vnni');
  });

  it('names one kernel per op, none above the active level', () => {
    const order = info.arch === 'x64' ? X86_LEVELS : ARM_LEVELS;
    expect(Object.keys(info.kernels).sort()).toEqual([
      'adam', 'dequantize', 'fake_quantize', 'gemm_f32', 'gemm_s4', 'gemm_s8s8', 'gemm_u8s8', 'min_max', 'quantize',
      'softmax', 'softmax_kl',
    ]);
    const names = Object.values(info.kernels);
    for (const name of names) {
      const level = suffix(name);
      expect(order, name).toContain(level);
      expect(order.indexOf(level), name).toBeLessThanOrEqual(order.indexOf(info.isa));
    }
  });

  it('lists, for every level, kernels at or below that level, and the int8 GEMM of that exact level where one exists', () => {
    const order = info.arch === 'x64' ? X86_LEVELS : ARM_LEVELS;
    for (const level of info.available) {
      const kernels = native._kernelsFor(level);
      for (const name of Object.values(kernels)) expect(order.indexOf(suffix(name))).toBeLessThanOrEqual(order.indexOf(level));
      // int8 GEMM has a kernel for every level.
      expect(suffix(kernels.gemm_u8s8)).toBe(level);
      expect(suffix(kernels.gemm_s8s8)).toBe(level);
    }
  });

  it('reports the thread count', () => {
    expect(info.threads).toBe(getNumThreads());
  });
});

describe('DISTIQ_ISA', () => {
  const info = cpuInfo();
  for (const level of info.available) {
    it(`DISTIQ_ISA=${level} activates that level at load`, () => {
      const r = nodeWith({ DISTIQ_ISA: level }, "const i=require('./dist').cpuInfo(); console.log(JSON.stringify(i))");
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { isa: string; kernels: Record<string, string> };
      expect(got.isa).toBe(level);
      expect(got.kernels).toEqual(native._kernelsFor(level));
    });
  }

  it('rejects an unknown level at load with ERR_DISTIQ_ISA, naming the variable and the valid levels', () => {
    const r = nodeWith(
      { DISTIQ_ISA: 'sse9' },
      "try { require('./dist'); console.log('loaded') } catch (e) { console.log(e.code + ' ' + e.constructor.name + ' ' + (e instanceof RangeError) + ' ' + e.message) }",
    );
    // The addon's RangeError arrives as the public class (lib/errors.ts fromNative), still a RangeError.
    expect(r.stdout).toMatch(/^ERR_DISTIQ_ISA DistiqRangeError true DISTIQ_ISA="sse9" is not an ISA level; expected one of ref, avx2/);
  });

  it('rejects a level this CPU lacks at load instead of silently downgrading', () => {
    const foreign = info.arch === 'x64' ? 'neon' : 'avx2';
    const r = nodeWith(
      { DISTIQ_ISA: foreign },
      "try { require('./dist'); console.log('loaded') } catch (e) { console.log(e.code + ' ' + e.message) }",
    );
    expect(r.stdout).toContain(`ERR_DISTIQ_ISA DISTIQ_ISA=${foreign} asks for a level this CPU cannot run`);
  });

  it('_setIsa rejects unknown and unsupported levels', () => {
    expect(() => native._setIsa('bogus')).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_ISA', name: 'RangeError' }));
    const foreign = info.arch === 'x64' ? 'i8mm' : 'avx512vnni';
    expect(() => native._setIsa(foreign)).toThrow(/cannot run ISA level "(i8mm|avx512vnni)"/);
    expect(cpuInfo().isa).toBe(info.isa);
  });
});

describe('threads', () => {
  it('setNumThreads / getNumThreads round-trip', () => {
    const before = getNumThreads();
    try {
      setNumThreads(1);
      expect(getNumThreads()).toBe(1);
      setNumThreads(3);
      expect(getNumThreads()).toBe(3);
    } finally {
      setNumThreads(before);
    }
  });

  it('rejects non-integer, zero and non-number thread counts', () => {
    expect(() => setNumThreads(0)).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_INVALID_ARG_VALUE' }));
    expect(() => setNumThreads(1.5)).toThrow(/The "n" argument must be an integer in \[1, 256\]. Received 1.5/);
    expect(() => setNumThreads('2' as unknown as number)).toThrow(
      expect.objectContaining({ code: 'ERR_DISTIQ_INVALID_ARG_TYPE', message: 'The "n" argument must be an integer. Received string "2"' }),
    );
    expect(() => native.setNumThreads(-1)).toThrow(expect.objectContaining({ code: 'ERR_DISTIQ_INVALID_ARG_VALUE' }));
  });
});

describe('package entry points', () => {
  it('works with require("distiq")', () => {
    const out = execFileSync(process.execPath, ['-e', "const d=require('distiq'); console.log(typeof d.cpuInfo, d.cpuInfo().isa)"], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(`function ${cpuInfo().isa}`);
  });

  it('works with import from "distiq" (ESM named exports)', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import { cpuInfo, setNumThreads } from 'distiq'; console.log(typeof setNumThreads, cpuInfo().isa)"],
      { cwd: root, encoding: 'utf8' },
    );
    expect(out.trim()).toBe(`function ${cpuInfo().isa}`);
  });

  it('ships type declarations for the public API', () => {
    const out = execFileSync(process.execPath, ['-e', "console.log(require('fs').readFileSync('dist/index.d.ts','utf8'))"], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toContain('cpuInfo');
    expect(out).toContain('DistiqRangeError');
  });
});
