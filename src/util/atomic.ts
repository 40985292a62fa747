// Writes that lose nothing: write a temp file beside the target, fsync, then rename over it.
import { openSync, writeSync, fsyncSync, closeSync, renameSync, mkdirSync, unlinkSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function writeFileAtomic(path: string, chunks: (Uint8Array | string)[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempPathFor(path, process.pid);
  const fd = openSync(tmp, 'w');
  try {
    for (const c of chunks) {
      const buf = typeof c === 'string' ? Buffer.from(c) : c;
      let off = 0;
      // At most 1 GiB a call: writeSync refuses lengths past 2^31 - 1 (a 20M-row id column is 3 GB).
      while (off < buf.byteLength) off += writeSync(fd, buf, off, Math.min(buf.byteLength - off, 1 << 30));
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

/** `<target>.<writer pid>.<ms>.tmp`: the pid tells a live writer's file from a killed one's. */
export const tempPathFor = (path: string, pid: number): string => `${path}.${pid}.${Date.now()}.tmp`;
const TEMP_NAME = /\.(\d+)\.\d+\.tmp$/;

/** A process with this pid exists (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Delete temp files left in dir by writers that died mid-write (kill -9); returns their names. */
export function removeStaleTempFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no folder, nothing to clean
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m || pidAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch { /* another cleaner got it first */ }
  }
  return removed;
}
