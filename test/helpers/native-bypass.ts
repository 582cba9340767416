/**
 * Reaching the native re-checks through the public wrappers: while `fn` runs, `native[name]` forwards to the real
 * binding with its arguments passed through `corrupt`. The TypeScript checks see the caller's valid arguments, the
 * addon sees the corrupted ones, so the error a test observes was raised natively and mapped by the wrapper.
 */
import { native, type NativeBinding } from '../../lib/native';

type AnyFn = (...args: unknown[]) => unknown;

export async function withCorruptedArgs<T>(
  name: keyof NativeBinding,
  corrupt: (args: unknown[]) => unknown[],
  fn: () => T | Promise<T>,
): Promise<T> {
  const binding = native as unknown as Record<string, AnyFn>;
  const original = binding[name];
  if (typeof original !== 'function') throw new Error(`native.${name} is not a function`);
  binding[name] = (...args: unknown[]) => original(...corrupt([...args]));
  try {
    return await fn();
  } finally {
    binding[name] = original;
  }
}

/** Replaces argument `index` with `value`. */
export const replaceArg =
  (index: number, value: unknown) =>
  (args: unknown[]): unknown[] => {
    args[index] = value;
    return args;
  };

/** What `fn` throws or rejects with (undefined when it completes). */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
