// zod issues → one line each that names the key, the value given and what is allowed.
import type { z } from 'zod';
import { didYouMean } from './closest.js';

const show = (v: unknown): string =>
  v === undefined ? 'nothing' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  // The deepest value that exists: a preprocessed value ("16,x" → [16, "x"]) is shown as given.
  let v = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !(p in (v as object))) break;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** zod's "Too big: expected number to be <=256" → "expected number to be <=256". */
const allowed = (message: string): string => message.replace(/^(Too big|Too small|Invalid input|Invalid option|Invalid string|Invalid number|Invalid type): /, '');

export interface ExplainOptions {
  /** How a key path is shown (e.g. "threads (--threads)"). */
  name?: (path: PropertyKey[]) => string;
  /** Known keys at a path, for "did you mean". */
  keysAt?: (path: PropertyKey[]) => string[];
}

export function explainIssues(issues: z.core.$ZodIssue[], input: unknown, opts: ExplainOptions = {}): string[] {
  const name = opts.name ?? ((p) => p.map(String).join('.') || '(top level)');
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const known = opts.keysAt?.(issue.path) ?? [];
      return issue.keys.map((k) => `unknown key "${name([...issue.path, k])}"${didYouMean(k, known)}; known keys: ${known.join(', ')}`);
    }
    const v = valueAt(input, issue.path);
    const hint = issue.code === 'invalid_type' && typeof v === 'string' && (issue.expected === 'number' || issue.expected === 'boolean')
      ? ` (strings are not converted: write the ${issue.expected} without quotes)`
      : '';
    return [`${name(issue.path)}: got ${show(v)}; ${allowed(issue.message)}${hint}`];
  });
}
