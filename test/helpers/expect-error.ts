/** The bad-input assertion of the test suites: `fn` throws an instance of `cls` with `code`, and a message matching every pattern. */
import { expect } from 'vitest';

export type ErrorClass = abstract new (...args: never[]) => Error;

function check(caught: unknown, what: string, cls: ErrorClass, code: string, patterns: RegExp[]): Error {
  expect(caught, what).toBeInstanceOf(cls);
  const err = caught as Error & { code?: string };
  expect(err.code).toBe(code);
  for (const p of patterns) expect(err.message).toMatch(p);
  return err;
}

/** Returns the error, for further checks. */
export function expectError(fn: () => unknown, cls: ErrorClass, code: string, ...patterns: RegExp[]): Error {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  return check(caught, 'expected a throw', cls, code, patterns);
}

/** The same for a promise that must reject. */
export async function expectRejection(p: Promise<unknown>, cls: ErrorClass, code: string, ...patterns: RegExp[]): Promise<Error> {
  return p.then(
    () => check(undefined, 'expected a rejection', cls, code, patterns),
    (e: unknown) => check(e, 'expected a rejection', cls, code, patterns),
  );
}
