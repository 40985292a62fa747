// Label rules per format. A label outside its format's set is a malformed line (skipped under
// skipBad), never a silently odd training target.
import { quoteBytes } from './excerpt.js';
import { BadRow, parseNumber } from './row.js';

/** Exactly 0 or 1 (criteo, avazu, csv without a threshold); `1.0`-style spellings too. */
export function binaryLabel(buf: Buffer, a: number, b: number, field: string): number {
  if (b - a === 1 && (buf[a] === 48 || buf[a] === 49)) return buf[a] - 48;
  const v = parseNumber(buf, a, b, field);
  if (v === 0) return 0; // also -0
  if (v === 1) return 1;
  throw new BadRow(`field ${field}: ${quoteBytes(buf, a, b)} is not 0 or 1`);
}

/** libfm: -1, 0 or 1, with 1 → 1 and -1, 0 → 0. */
export function signedLabel(buf: Buffer, a: number, b: number, field: string): number {
  const v = parseNumber(buf, a, b, field);
  if (v === 1) return 1;
  if (v === 0 || v === -1) return 0;
  throw new BadRow(`field ${field}: ${quoteBytes(buf, a, b)} is not -1, 0 or 1`);
}

/** csv: with a threshold any finite number (>= threshold → 1), else exactly 0 or 1. */
export function csvLabel(buf: Buffer, a: number, b: number, field: string, threshold: number | undefined): number {
  if (threshold === undefined) return binaryLabel(buf, a, b, field);
  return parseNumber(buf, a, b, field) >= threshold ? 1 : 0;
}
