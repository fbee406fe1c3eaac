/**
 * Short-lived byte buffers (encoded messages and bodies) carved from shared slabs. V8 gives
 * every Uint8Array larger than 64 bytes its own off-heap backing store — an allocation and a
 * later sweep of about a microsecond each, several per message — so buffers up to 8 KiB
 * are views into a 64 KiB ArrayBuffer instead. A fresh slab is zeroed and never reused, so
 * a carved buffer starts zeroed exactly like `new Uint8Array(n)`.
 *
 * Views share their slab: use `byteOffset` with `.buffer` (the codebase always does), and
 * copy what is kept for long (storage and the certificate cache copy), or a small kept view
 * pins 64 KiB.
 */
const SLAB_BYTES = 64 * 1024;
const MAX_SLAB_ALLOCATION = 8 * 1024;

/** A chain of slabs: each allocation carves the current slab, a full one is left to the GC. */
class SlabChain {
  private slab = new ArrayBuffer(SLAB_BYTES);
  private used = 0;

  allocate(n: number): Uint8Array {
    if (n > MAX_SLAB_ALLOCATION || n <= 0) return new Uint8Array(n);
    if (this.used + n > SLAB_BYTES) {
      this.slab = new ArrayBuffer(SLAB_BYTES);
      this.used = 0;
    }
    const out = new Uint8Array(this.slab, this.used, n);
    this.used += (n + 7) & ~7;
    return out;
  }
}

const transient = new SlabChain();
const kept = new SlabChain();

/** A zeroed Uint8Array of `n` bytes (carved from a slab when small). */
export function allocateBytes(n: number): Uint8Array {
  return transient.allocate(n);
}

/**
 * The same for buffers that all live about equally long (answers kept in the duplicate
 * cache for its window): a chain of their own, so a slab is freed about one window after
 * its last buffer was carved — neither pinning transient slabs nor paying an off-heap
 * allocation (and V8's external-memory accounting) per buffer.
 */
export function allocateKeptBytes(n: number): Uint8Array {
  return kept.allocate(n);
}
