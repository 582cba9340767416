/**
 * Option bags of the distillation API are checked for unknown settings: a misspelled `temprature: 2` or the training
 * engine's `checkpoint: { every }` would otherwise be ignored without a word and the run would use the default.
 */
import { DistiqRangeError } from '../errors';

/** Edit distance of two short strings (case-insensitive). */
function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The known name `key` most likely meant: a name it starts or ends, else the nearest within 3 edits. */
function closest(key: string, known: readonly string[]): string | null {
  const k = key.toLowerCase();
  const affix = known.find((n) => n.toLowerCase().startsWith(k) || k.startsWith(n.toLowerCase()));
  if (affix !== undefined) return affix;
  let best: string | null = null, bestD = 4;
  for (const n of known) {
    const d = distance(key, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best;
}

/**
 * Throws a DistiqRangeError unless every own key of `options` (an object, checked by the caller) is in `known`.
 * `where` names the bag in the message: 'new Distiller() options', 'the "checkpoint" option', …
 */
export function expectOptions(where: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new DistiqRangeError(`${where} have no setting "${key}"${near !== null ? ` (did you mean "${near}"?)` : ''}; the settings are ${known.join(', ')}`);
  }
}
