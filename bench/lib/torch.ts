/**
 * The PyTorch peers of the benches (bench/*_torch.py): Debian's python3-torch run as a subprocess, with the
 * environment the issues prescribe (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset, and OMP_NUM_THREADS unset so the
 * script's own --threads decides).
 */

/** The interpreter that has python3-torch. */
export const PY = '/usr/bin/python3';

/** process.env without OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE and OMP_NUM_THREADS. */
export function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  delete env.OMP_NUM_THREADS;
  return env;
}
