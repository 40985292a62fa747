// Input quoted in a message is cut to a short excerpt, so a malformed 10 MB line gives a one-line
// error, not a 10 MB one.

const MAX_CHARS = 60;

/** s itself when short, else its first MAX_CHARS characters, `…` and its length. */
export function clip(s: string): string {
  return s.length <= MAX_CHARS ? s : `${s.slice(0, MAX_CHARS)}… (${s.length} chars)`;
}

/** The bytes [a, b) as a JSON string, cut to MAX_CHARS characters with `…` and the byte count. */
export function quoteBytes(buf: Buffer, a: number, b: number): string {
  if (b - a <= MAX_CHARS) return JSON.stringify(buf.toString('utf8', a, b));
  // Decode only a prefix: at most 4 bytes per character.
  const head = buf.toString('utf8', a, Math.min(b, a + 4 * MAX_CHARS)).slice(0, MAX_CHARS);
  return `${JSON.stringify(head + '…')} (${b - a} bytes)`;
}
