// Accumulates wall time per phase of the training step (for benchmarks' per-phase breakdown).
export class PhaseTimer {
  readonly totals = new Map<string, number>();
  private current: string | null = null;
  private t0 = 0;
  start(phase: string): void {
    const now = performance.now();
    if (this.current) this.totals.set(this.current, (this.totals.get(this.current) ?? 0) + now - this.t0);
    this.current = phase;
    this.t0 = now;
  }
  stop(): void {
    if (this.current) this.start('');
    this.current = null;
  }
  reset(): void {
    this.totals.clear();
    this.current = null;
  }
  snapshot(): Record<string, number> {
    const o: Record<string, number> = {};
    for (const [k, v] of this.totals) if (k) o[k] = v;
    return o;
  }
}
