// Append-only typed arrays. The caller passes an estimate of the final length when they fill up
// (from bytes read vs file size), so a big split is copied at most once or twice, not log(n) times.

export class GrowI32 {
  data: Int32Array;
  len = 0;
  constructor(capacity = 1 << 16) {
    this.data = new Int32Array(capacity);
  }
  /** Makes room for k more values (at least `estimate` in total); returns the write position. */
  reserve(k: number, estimate = 0): number {
    if (this.len + k > this.data.length) {
      const d = new Int32Array(Math.max(this.data.length * 2, this.len + k, estimate));
      d.set(this.data.subarray(0, this.len));
      this.data = d;
    }
    return this.len;
  }
  trim(): Int32Array {
    return trimmed(this.data, this.len) as Int32Array;
  }
}

export class GrowF32 {
  data: Float32Array;
  len = 0;
  constructor(capacity = 1 << 12) {
    this.data = new Float32Array(capacity);
  }
  push(v: number, estimate = 0): void {
    if (this.len === this.data.length) {
      const d = new Float32Array(Math.max(this.data.length * 2, estimate));
      d.set(this.data);
      this.data = d;
    }
    this.data[this.len++] = v;
  }
  /** Appends src[0, n). */
  append(src: Float32Array, n: number, estimate = 0): void {
    if (this.len + n > this.data.length) {
      const d = new Float32Array(Math.max(this.data.length * 2, this.len + n, estimate));
      d.set(this.data.subarray(0, this.len));
      this.data = d;
    }
    this.data.set(src.subarray(0, n), this.len);
    this.len += n;
  }
  trim(): Float32Array {
    return trimmed(this.data, this.len) as Float32Array;
  }
}

/** A view when little would be wasted (no copy), else a compact copy. */
function trimmed(a: Int32Array | Float32Array, len: number): Int32Array | Float32Array {
  return a.length - len <= (len >> 4) ? a.subarray(0, len) : a.slice(0, len);
}
