// Open-addressing hash table keyed by raw bytes, so lookups never build JS strings.
// A slot holds (tag, entry+1, first two key words): the tag is the hash with the key length in its
// low 4 bits, so keys of up to 8 bytes (all of Criteo's) are matched within one slot, one cache
// line, without touching the entry arrays. Keys start 4-byte aligned and are zero-padded, both in
// the arena and in the caller's buffer, so they compare a 32-bit word at a time. Entries are
// numbered in insertion order.

const SLOT = 4; // int32s per slot: tag, entry + 1, key word 0, key word 1
const INLINE_BYTES = 8;
const LONG = 15; // length code of keys of 15 bytes or more (their length is checked in `lens`)

export class KeyTable {
  size = 0;
  private slots: Int32Array = new Int32Array(SLOT * 256);
  private mask = 255;
  /** Slot where the last failed find stopped: where `add` inserts. */
  private free = 0;
  private starts: Int32Array = new Int32Array(64); // arena offset per entry
  private lens: Int32Array = new Int32Array(64);
  private arena: Uint8Array = new Uint8Array(1024);
  private arena32: Int32Array = new Int32Array(this.arena.buffer);
  private arenaLen = 0;

  /** Entry index of key bytes [s, e) (s 4-aligned, zero-padded to a word) with hash h, or -1. */
  find(keys: Int32Array, s: number, e: number, h: number): number {
    const len = e - s;
    const tag = (h & ~15) | (len < LONG ? len : LONG);
    const w0 = len > 0 ? keys[s >> 2] : 0;
    const w1 = len > 4 ? keys[(s >> 2) + 1] : 0;
    const slots = this.slots, mask = this.mask;
    for (let i = mix(tag) & mask; ; i = (i + 1) & mask) {
      const b = i * SLOT;
      const id1 = slots[b + 1];
      if (id1 === 0) {
        this.free = i;
        return -1;
      }
      if (slots[b] !== tag || slots[b + 2] !== w0 || slots[b + 3] !== w1) continue;
      if (len <= INLINE_BYTES || this.restMatches(id1 - 1, keys, s, e)) return id1 - 1;
    }
  }

  /**
   * Entry index of the key, adding it if new. Occurrences are not counted here (that would be one
   * more cache miss per lookup); the vocabulary counts the entry column only when minCount > 1.
   */
  add(keys: Int32Array, s: number, e: number, h: number): number {
    const k = this.find(keys, s, e, h);
    return k < 0 ? this.insert(keys, s, e, h) : k;
  }

  /** Key bytes of an entry, as a string (UTF-8). */
  keyString(id: number): string {
    return Buffer.from(this.arena.buffer, this.arena.byteOffset + this.starts[id], this.lens[id]).toString('utf8');
  }

  /** Key bytes of an entry (a view of the arena, valid until the next insert). */
  keyBytes(id: number): Uint8Array {
    return this.arena.subarray(this.starts[id], this.starts[id] + this.lens[id]);
  }

  /** Byte-wise comparison of two entries' keys; for UTF-8 this is code-point order, like Python's sorted(). */
  compare(a: number, b: number): number {
    const ar = this.arena;
    const sa = this.starts[a], la = this.lens[a], sb = this.starts[b], lb = this.lens[b];
    const n = la < lb ? la : lb;
    for (let i = 0; i < n; i++) {
      const d = ar[sa + i] - ar[sb + i];
      if (d !== 0) return d;
    }
    return la - lb;
  }

  /** Past the inline words: same length, and the same words from the third on. */
  private restMatches(id: number, keys: Int32Array, s: number, e: number): boolean {
    if (this.lens[id] !== e - s) return false;
    const ar = this.arena32;
    let j = (this.starts[id] >> 2) + 2, p = (s >> 2) + 2;
    const end = (e + 3) >> 2;
    while (p < end && ar[j] === keys[p]) {
      j++;
      p++;
    }
    return p === end;
  }

  /** New entry for a key `find` just missed (it left `free` at the empty slot ending the probe). */
  private insert(keys: Int32Array, s: number, e: number, h: number): number {
    const id = this.size++;
    if (id === this.starts.length) {
      this.starts = grown(this.starts);
      this.lens = grown(this.lens);
    }
    const len = e - s;
    const padded = (len + 3) & ~3;
    if (this.arenaLen + padded > this.arena.length) {
      const a = new Uint8Array(Math.max(this.arena.length * 2, this.arenaLen + padded));
      a.set(this.arena.subarray(0, this.arenaLen));
      this.arena = a;
      this.arena32 = new Int32Array(a.buffer);
    }
    this.arena.set(new Uint8Array(keys.buffer, keys.byteOffset + s, padded), this.arenaLen);
    this.starts[id] = this.arenaLen;
    this.lens[id] = len;
    this.arenaLen += padded;
    const b = this.free * SLOT;
    const slots = this.slots;
    slots[b] = (h & ~15) | (len < LONG ? len : LONG);
    slots[b + 1] = id + 1;
    slots[b + 2] = len > 0 ? keys[s >> 2] : 0;
    slots[b + 3] = len > 4 ? keys[(s >> 2) + 1] : 0;
    if (this.size * 2 > this.mask + 1) this.rehash(2 * (this.mask + 1));
    return id;
  }

  /** Moves every slot into a table of nslots (tags keep enough of the hash to re-place them). */
  private rehash(nslots: number): void {
    const old = this.slots;
    const slots = new Int32Array(SLOT * nslots);
    const mask = nslots - 1;
    for (let b = 0; b < old.length; b += SLOT) {
      if (old[b + 1] === 0) continue;
      let i = mix(old[b]) & mask;
      while (slots[i * SLOT + 1] !== 0) i = (i + 1) & mask;
      slots.set(old.subarray(b, b + SLOT), i * SLOT);
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function grown(a: Int32Array): Int32Array {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Final avalanche, so the low bits used as the slot index depend on every key byte. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  return h ^ (h >>> 13);
}
