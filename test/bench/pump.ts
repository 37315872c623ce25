import type { Writable } from 'node:stream';

const CHUNK = Buffer.alloc(1 << 20, 0x61);

/** Writes `bytes` of filler into a stream, 1 MiB at a time, waiting whenever it asks to, then ends it. */
export function pumpBytes(out: Writable, bytes: number): void {
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!out.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        out.once('drain', pump);
        return;
      }
    }
    out.end();
  };
  pump();
}
