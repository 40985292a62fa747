// Divergence that stays finite: a learning rate far too high can drive the loss to 1e18 without a
// NaN. A CTR model starts at logloss ≈ ln 2 (all-zero logits) and only goes down from there, so a
// mean train loss far above ln 2 over several windows in a row means training has blown up.

export const DIVERGENCE_FACTOR = 10;
/** Mean train loss above this (10 × ln 2 ≈ 6.93) is a bad window. */
export const DIVERGENCE_BOUND = DIVERGENCE_FACTOR * Math.LN2;
/** Steps per window (an epoch end also closes a window). */
export const DIVERGENCE_WINDOW = 100;
/** Bad windows in a row that stop the run (one spike is not divergence). */
export const DIVERGENCE_STRIKES = 3;

export class DivergenceError extends Error {}

export class DivergenceMonitor {
  private sum = 0;
  private n = 0;
  private strikes = 0;
  private lastWindowOk = true;

  /** False while the latest closed window or the open one is bad: such weights must not be checkpointed. */
  get healthy(): boolean {
    return this.lastWindowOk && (this.n === 0 || this.sum / this.n <= DIVERGENCE_BOUND);
  }

  /** Add one step's loss; windows close at multiples of DIVERGENCE_WINDOW steps (same places after a resume). */
  add(loss: number, step: number, where: () => string): void {
    this.sum += loss;
    this.n++;
    if (step % DIVERGENCE_WINDOW === 0) this.close(where);
  }

  /** Close the current (partial) window; throws DivergenceError on the last allowed strike. */
  close(where: () => string): void {
    if (this.n === 0) return;
    const mean = this.sum / this.n;
    const steps = this.n;
    this.sum = 0;
    this.n = 0;
    if (!(mean > DIVERGENCE_BOUND)) {
      this.strikes = 0;
      this.lastWindowOk = true;
      return;
    }
    this.lastWindowOk = false;
    if (++this.strikes >= DIVERGENCE_STRIKES) {
      throw new DivergenceError(
        `training diverged at ${where()}: mean train loss ${mean.toPrecision(4)} over the last ${steps} steps, ` +
          `above ${DIVERGENCE_BOUND.toFixed(2)} (${DIVERGENCE_FACTOR} × ln 2) for ${this.strikes} checks in a row`,
      );
    }
  }
}

/** The name of the first float array holding NaN or ±Infinity, or null. */
export function firstNonFinite(arrays: Record<string, ArrayBufferView>): string | null {
  for (const [name, a] of Object.entries(arrays)) {
    if (!(a instanceof Float32Array || a instanceof Float64Array)) continue;
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return `${name}[${i}] = ${a[i]}`;
  }
  return null;
}
