/**
 * Typed arrays for the attribution snapshot, allocated on `SharedArrayBuffer`s.
 *
 * Why: V8 counts ordinary ArrayBuffers as external memory and, every ~64 MB of growth, runs a full
 * mark-compact of the whole JavaScript heap. Building the snapshot allocates ~150 MB of arrays next to
 * a heap that holds the registry's customers, services and resource strings (~300 MB, millions of
 * objects), so ordinary buffers cost two or three full collections of that heap per build — most of
 * the build time on a loaded machine. Shared buffers are not counted that way (they are still reported
 * by `process.memoryUsage().arrayBuffers`, and freed when unreachable), and lookups through them run the
 * same code. They would also let worker threads share one snapshot without copying it.
 */

export function sharedBuffer(bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(bytes);
}

export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * length));
}

export function sharedInt32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * length));
}

export function sharedUint32(length: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(4 * length));
}

export function sharedUint8(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}
