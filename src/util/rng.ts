// Counter-based random numbers: every draw is a pure function of (seed, stream, counter...),
// so results do not depend on thread count, batch order or where a resumed run starts.

/** Streams keep independent uses of randomness apart under one run seed. */
export const Stream = {
  init: 1,
  shuffle: 2,
  dropout: 3,
  rounding: 4,
  synth: 5,
  bench: 6,
  holdOut: 7,
} as const;

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of up to four 32-bit words → uint32. */
export function hash4(a: number, b: number, c: number, d: number): number {
  let h = fmix32((a ^ 0x9e3779b9) >>> 0);
  h = fmix32((h ^ Math.imul(b | 0, 0x85ebca77)) >>> 0);
  h = fmix32((h ^ Math.imul(c | 0, 0xc2b2ae3d)) >>> 0);
  h = fmix32((h ^ Math.imul(d | 0, 0x27d4eb2f)) >>> 0);
  return h;
}

/** Uniform in [0, 1) from (seed, stream, i, j): 2^-32 resolution. */
export function uniform(seed: number, stream: number, i: number, j: number): number {
  return hash4(seed ^ Math.imul(stream, 0x632be5ab), i, j, stream) * 2.3283064365386963e-10;
}

/**
 * A sequential generator on top of the counter hash, for places that draw many numbers in order
 * (initialisation, synthetic data). Its state is (key, counter), so it can be resumed exactly.
 */
export class CounterRng {
  private counter = 0;
  private spare: number | null = null;
  constructor(readonly seed: number, readonly stream: number, readonly sub = 0) {}

  nextU32(): number {
    const c = this.counter++;
    return hash4(this.seed ^ Math.imul(this.stream, 0x632be5ab), this.sub, c, c >>> 31 ^ 0x5bd1e995);
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() * 2.3283064365386963e-10;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** In-place Fisher–Yates shuffle. */
  shuffle(a: Int32Array | Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
