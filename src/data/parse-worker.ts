// Parse worker: runs parseRows on one file and posts each chunk's rows (arrays transferred, not
// copied) to the thread that counts or encodes them, so parsing overlaps the hash-table work.
// The consumer posts the arrays back for reuse; at most MAX_IN_FLIGHT batches are outstanding,
// which bounds memory when the consumer is the slower side. This module is only ever a worker's
// entry point (importing it elsewhere would run it).
import { parentPort, workerData } from 'node:worker_threads';
import { parseRows, type ParseProgress, type ParserSpec } from './parse-rows.js';
import { RowBatch, transferList, type RowArrays } from './row.js';

export interface ParseWorkerData {
  path: string;
  spec: ParserSpec;
  skipBad: boolean;
  chunkSize: number;
}

/** Worker → consumer. */
export type ParseWorkerMessage =
  | { type: 'batch'; arrays: RowArrays; rows: number; fields: number; progress: ParseProgress }
  | { type: 'done'; progress: ParseProgress }
  | { type: 'error'; message: string };

const MAX_IN_FLIGHT = 3;

if (parentPort) {
  const port = parentPort;
  const { path, spec, skipBad, chunkSize } = workerData as ParseWorkerData;
  const recycled: RowArrays[] = [];
  let inFlight = 0;
  let wake: (() => void) | null = null;
  port.on('message', (a: RowArrays) => {
    recycled.push(a);
    inFlight--;
    wake?.();
  });
  const post = (m: ParseWorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
  try {
    const progress = await parseRows(path, spec, skipBad, chunkSize, async (rows, progress) => {
      if (rows.rows === 0) return;
      const arrays = rows.arrays();
      post({ type: 'batch', arrays, rows: rows.rows, fields: rows.fields, progress }, transferList(arrays));
      inFlight++;
      const next = recycled.pop();
      rows.adopt(next ?? new RowBatch().arrays());
      while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    });
    post({ type: 'done', progress });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
  }
  // Stays alive (listening) until the consumer terminates it, so 'exit' never races the last message.
}
