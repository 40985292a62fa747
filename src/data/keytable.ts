// Open-addressing hash table keyed by raw bytes, so counting and lookup never build JS strings.
// Slots hold (entry+1, hash) side by side and entries hold (start, length, count), so a lookup
// touches few cache lines. Keys start 4-byte aligned and are zero-padded, both in the arena and in
// the caller's buffer, so they compare a 32-bit word at a time. Entries are numbered in insertion order.

export class KeyTable {
  size = 0;
  private slots: Int32Array = new Int32Array(256);
  private mask = 127;
  private meta: Int32Array = new Int32Array(3 * 64);
  private hashes: Int32Array = new Int32Array(64); // per entry, for rehashing
  private arena: Uint8Array = new Uint8Array(1024);
  private arena32: Int32Array = new Int32Array(this.arena.buffer);
  private arenaLen = 0;

  /** Entry index of key bytes [s, e) (s 4-aligned, zero-padded to a word) with hash h, or -1. */
  find(keys: Int32Array, s: number, e: number, h: number): number {
    const slots = this.slots, mask = this.mask, len = e - s;
    for (let i = mix(h) & mask; ; i = (i + 1) & mask) {
      const k = slots[2 * i];
      if (k === 0) return -1;
      if (slots[2 * i + 1] !== h) continue;
      const m = 3 * (k - 1);
      if (this.meta[m + 1] !== len) continue;
      const ar = this.arena32;
      let j = this.meta[m] >> 2, p = s >> 2;
      const end = (e + 3) >> 2;
      while (p < end && ar[j] === keys[p]) {
        j++;
        p++;
      }
      if (p === end) return k - 1;
    }
  }

  /** Adds one occurrence of the key; returns its entry index. */
  add(keys: Int32Array, s: number, e: number, h: number): number {
    const k = this.find(keys, s, e, h);
    if (k < 0) return this.insert(keys, s, e, h);
    this.meta[3 * k + 2]++;
    return k;
  }

  count(id: number): number {
    return this.meta[3 * id + 2];
  }

  /** Key bytes of an entry, as a string (UTF-8). */
  keyString(id: number): string {
    const m = 3 * id;
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + this.meta[m], this.meta[m + 1]).toString('utf8');
  }

  /** Byte-wise comparison of two entries' keys; for UTF-8 this is code-point order, like Python's sorted(). */
  compare(a: number, b: number): number {
    const ar = this.arena, meta = this.meta;
    const sa = meta[3 * a], la = meta[3 * a + 1], sb = meta[3 * b], lb = meta[3 * b + 1];
    const n = la < lb ? la : lb;
    for (let i = 0; i < n; i++) {
      const d = ar[sa + i] - ar[sb + i];
      if (d !== 0) return d;
    }
    return la - lb;
  }

  private insert(keys: Int32Array, s: number, e: number, h: number): number {
    const id = this.size++;
    if (id === this.hashes.length) {
      const meta = new Int32Array(this.meta.length * 2);
      meta.set(this.meta);
      this.meta = meta;
      const hashes = new Int32Array(this.hashes.length * 2);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    const len = e - s;
    const padded = (len + 3) & ~3;
    if (this.arenaLen + padded > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + padded));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
      this.arena32 = new Int32Array(a.buffer);
    }
    this.arena.set(new Uint8Array(keys.buffer, keys.byteOffset + s, len), this.arenaLen);
    this.meta[3 * id] = this.arenaLen;
    this.meta[3 * id + 1] = len;
    this.meta[3 * id + 2] = 1;
    this.hashes[id] = h;
    this.arenaLen += padded;
    if (this.size * 2 > this.mask + 1) this.rehash(2 * (this.mask + 1));
    else this.place(this.slots, this.mask, id);
    return id;
  }

  private place(slots: Int32Array, mask: number, id: number): void {
    let i = mix(this.hashes[id]) & mask;
    while (slots[2 * i] !== 0) i = (i + 1) & mask;
    slots[2 * i] = id + 1;
    slots[2 * i + 1] = this.hashes[id];
  }

  private rehash(nslots: number): void {
    const slots = new Int32Array(2 * nslots);
    const mask = nslots - 1;
    for (let id = 0; id < this.size; id++) this.place(slots, mask, id);
    this.slots = slots;
    this.mask = mask;
  }
}

/** Final avalanche, so the low bits used as the slot index depend on every key byte. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}
