// Streams a text file as byte lines without decoding it: a reused buffer, memchr-based
// newline search (Buffer.indexOf), and no per-line string unless a parser asks for one.
import { open } from 'node:fs/promises';

/**
 * Called per non-empty line; [start, end) excludes the newline and a trailing '\r'. A UTF-8
 * byte-order mark at the start of the file is not part of line 1.
 */
export type LineFn = (buf: Buffer, start: number, end: number, lineNo: number) => void;

export interface LineOptions {
  chunkSize?: number;
  /** Called after each chunk with the number of lines seen so far; reading waits for a returned promise. */
  onChunk?: (lines: number) => void | Promise<void>;
}

export async function forEachLine(path: string, fn: LineFn, opts: LineOptions = {}): Promise<number> {
  const fh = await open(path, 'r');
  let buf = Buffer.allocUnsafe(opts.chunkSize ?? 1 << 22);
  let filled = 0;
  let lineNo = 0;
  let first = true;
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, filled, buf.length - filled, null);
      const eof = bytesRead === 0;
      filled += bytesRead;
      const view = buf.subarray(0, filled); // indexOf must not see stale bytes past `filled`
      let pos = 0;
      if (first && filled >= 3) {
        first = false;
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
      }
      for (;;) {
        let nl = view.indexOf(10, pos);
        if (nl < 0) {
          if (!eof || pos >= filled) break;
          nl = filled; // last line without a newline
        }
        let end = nl;
        if (end > pos && buf[end - 1] === 13) end--;
        lineNo++;
        if (end > pos) fn(buf, pos, end, lineNo); // empty lines are skipped, as torch_ref does
        pos = nl + 1;
      }
      if (eof) break;
      await opts.onChunk?.(lineNo);
      if (pos > 0) {
        buf.copy(buf, 0, pos, filled);
        filled -= pos;
      } else if (filled === buf.length) {
        // One line longer than the buffer: grow rather than split it.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
    }
  } finally {
    await fh.close();
  }
  await opts.onChunk?.(lineNo);
  return lineNo;
}
