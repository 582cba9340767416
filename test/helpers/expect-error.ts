/** The bad-input assertion of the test suites: `fn` throws an instance of `cls` with `code`, and a message matching every pattern. */
import { expect } from 'vitest';

export type ErrorClass = abstract new (...args: never[]) => Error;

export function expectError(fn: () => unknown, cls: ErrorClass, code: string, ...patterns: RegExp[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  const err = caught as Error & { code?: string };
  expect(err.code).toBe(code);
  for (const p of patterns) expect(err.message).toMatch(p);
}
