// The swappable model reference. A request pins the model that is current when it arrives
// (acquire) and lets go when its scores are out (release); a reload loads and verifies the new
// file beside the old one, then replaces one reference. The old model is disposed only when the
// last request pinned to it has let go, so requests in flight finish on the model they started on.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadModel, type LoadedModel, type LoadOptions } from '../predict/loaded-model.js';

/** One loaded model file with what identifies it. */
export class ModelEntry {
  private pins = 0;
  private retired = false;
  private disposed = false;

  constructor(
    readonly model: LoadedModel,
    /** sha256 of the file's bytes (hex). */
    readonly sha256: string,
    /** The first 12 hex digits of the sha256: what a response names. */
    readonly version: string,
    /** When the model started serving (ms since the epoch). */
    readonly loadedAt: number,
    /** Seconds the load took (read, verify, build). */
    readonly loadSeconds: number,
  ) {}

  acquire(): this {
    if (this.disposed) throw new Error(`model ${this.version} is disposed`);
    this.pins++;
    return this;
  }

  release(): void {
    if (this.pins <= 0) throw new Error(`model ${this.version}: release without acquire`);
    this.pins--;
    this.maybeDispose();
  }

  /** Requests pinned to the model. */
  get inFlight(): number {
    return this.pins;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** No longer current: dispose as soon as nothing is pinned to it. */
  retire(): void {
    this.retired = true;
    this.maybeDispose();
  }

  private maybeDispose(): void {
    if (this.retired && this.pins === 0 && !this.disposed) {
      this.disposed = true;
      this.model.dispose();
    }
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Read, verify (readModelFile checks every CRC) and load a model file for serving. Refuses a model
 * without a vocabulary (it cannot score raw rows) and, when `like` is given, a model whose input
 * columns differ from it (clients' requests would stop being valid).
 */
export async function loadEntry(path: string, opts: LoadOptions = {}, like?: LoadedModel): Promise<ModelEntry> {
  const t0 = performance.now();
  const before = sha256File(path);
  const model = await loadModel(path, opts);
  try {
    if (!model.info.input) throw new Error(`${path}: the model has no vocabulary, so it cannot score raw rows`);
    if (like?.info.input) {
      const a = like.info.input.required.join(','), b = model.info.input.required.join(',');
      if (a !== b) throw new Error(`${path}: incompatible input: the serving model takes the fields ${a}, the new one ${b}`);
    }
    // The bytes hashed must be the bytes loaded: refuse a file that changed while it was read
    // (replace model files by renaming a finished file over the old one).
    const after = sha256File(path);
    if (after !== before) throw new Error(`${path}: the file changed while it was being loaded; write the new file elsewhere and rename it into place`);
    return new ModelEntry(model, before, before.slice(0, 12), Date.now(), (performance.now() - t0) / 1000);
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** The current model; replaced atomically by swap(). */
export class ModelSlot {
  private entry: ModelEntry | null = null;

  get current(): ModelEntry | null {
    return this.entry;
  }

  /** Pin the current model for one request. */
  acquire(): ModelEntry {
    if (!this.entry) throw new Error('no model is loaded');
    return this.entry.acquire();
  }

  /** Make `next` current; the previous model is disposed once its pinned requests are done. */
  swap(next: ModelEntry): ModelEntry | null {
    const prev = this.entry;
    this.entry = next;
    prev?.retire();
    return prev;
  }

  /** Retire the current model (shutdown). */
  clear(): void {
    const prev = this.entry;
    this.entry = null;
    prev?.retire();
  }
}
