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
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/** A zeroed Uint8Array of `n` bytes (carved from a slab when small). */
export function allocateBytes(n: number): Uint8Array {
  if (n > MAX_SLAB_ALLOCATION || n <= 0) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7;
  return out;
}
