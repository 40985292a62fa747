// Bump allocator over the shared WebAssembly memory. Nothing is ever freed: buffers live as long
// as the backend (layers allocate once and reuse), which keeps every pointer stable for workers.

const PAGE = 65536;
const ALIGN = 64; // cache line; also satisfies v128 alignment

const alignUp = (x: number): number => Math.ceil(x / ALIGN) * ALIGN;

export class WasmHeap {
  private top: number;
  private view: Float32Array;
  /** Every SharedArrayBuffer object the memory has handed out (a new one after each grow). */
  private readonly buffers = new Set<ArrayBufferLike>();
  private stagePtr = 0;
  private stageBytes = 0;

  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.top = alignUp(Math.max(base, ALIGN));
    this.view = this.refresh();
  }

  /** Bytes in use (the bump pointer). */
  get used(): number {
    return this.top;
  }

  /** Reserves bytes (zero-filled: fresh memory) and returns the byte offset. */
  reserve(bytes: number): number {
    const ptr = this.top;
    const end = ptr + alignUp(bytes);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      this.memory.grow(Math.ceil((end - have) / PAGE));
      this.view = this.refresh();
    }
    this.top = end;
    return ptr;
  }

  alloc(n: number): Float32Array {
    const ptr = this.reserve(n * 4);
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  /** Byte offset of arr inside the memory, or -1 if it lives elsewhere. */
  ptrOf(arr: ArrayBufferView): number {
    if (this.buffers.has(arr.buffer)) return arr.byteOffset;
    this.refresh();
    return this.buffers.has(arr.buffer) ? arr.byteOffset : -1;
  }

  /** A reusable region of at least bytes, for copying in arrays that live outside the memory. */
  stage(bytes: number): number {
    if (bytes > this.stageBytes) {
      this.stageBytes = alignUp(Math.max(bytes, this.stageBytes * 1.5));
      this.stagePtr = this.reserve(this.stageBytes);
    }
    return this.stagePtr;
  }

  /** Float32 view of the whole memory (current size). */
  f32(): Float32Array {
    if (this.view.buffer.byteLength !== this.memory.buffer.byteLength) this.view = this.refresh();
    return this.view;
  }

  private refresh(): Float32Array {
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    return new Float32Array(buf);
  }
}
