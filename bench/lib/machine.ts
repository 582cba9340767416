/** What the results were measured on: the `machine` object of every bench/results/*.json. */
import * as fs from 'node:fs';
import * as os from 'node:os';

import { cpuInfo } from 'distiq';

export interface MachineInfo {
  /** CPU model name. */
  cpu: string;
  /** Logical CPUs the OS reports. */
  cores: number;
  /** distiq's active ISA level (the best one unless DISTIQ_ISA caps it). */
  isa: string;
  /** Node version, e.g. "v20.20.2". */
  node: string;
  /** Extra facts that matter when reading the numbers. */
  os?: string;
  memory_gib?: number;
  hypervisor?: boolean;
  /** Every level distiq can run here. */
  isa_available?: string[];
  /** 1-minute load average when the run started (other jobs on the machine). */
  load_avg_start?: number;
  /** ... and when it ended (set by the bench before writing). */
  load_avg_end?: number;
}

/** The 1-minute load average, rounded (0 where the OS does not report one). */
export function loadAverage(): number {
  return Number(os.loadavg()[0]!.toFixed(2));
}

/** A warning line when other jobs use a sizeable share of the CPUs, else null. */
export function busyWarning(load: number, cores: number): string | null {
  return load > 0.5 * cores
    ? `warning: machine busy (load ${load} on ${cores} CPUs): absolute numbers are unreliable, ratios within a case much less so`
    : null;
}

function cpuModel(): string {
  const fromOs = os.cpus()[0]?.model?.trim();
  if (fromOs) return fromOs;
  try {
    return cpuInfo().brand || 'unknown';
  } catch {
    return 'unknown';
  }
}

function underHypervisor(): boolean | undefined {
  try {
    return /^flags\s*:.*\bhypervisor\b/m.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const info = cpuInfo();
  const m: MachineInfo = {
    cpu: cpuModel(),
    cores: os.cpus().length,
    isa: info.isa,
    node: process.version,
    os: `${os.type()} ${os.release()} ${process.arch}`,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    isa_available: info.available,
    load_avg_start: loadAverage(),
  };
  const hv = underHypervisor();
  if (hv !== undefined) m.hypervisor = hv;
  return m;
}
