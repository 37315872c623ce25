import v8 from 'node:v8';

/** V8's cap on the young generation under the scavenger (V8 12 and later: Node 22 and later). */
const FLAG = '--scavenger-max-new-space-capacity-mb';

/**
 * MiB: without pointer compression (Node's builds) V8 doubles it, so dead socket buffers are
 * collected once they reach 8 MiB (twice the 4 MiB semi-space it stands for; see capYoungGeneration).
 * 4 left 14–37 MiB of peak growth over a 1 GiB transfer, since V8 frees them on another thread
 * while the next ones pile up; 2 left 7–14 MiB at the same throughput.
 */
export const YOUNG_GENERATION_CAP_MB = 2;

export type YoungGenerationCap = { capMb: number } | { skipped: 'set on the command line' | 'Node.js before 22' };

/**
 * Every chunk a socket reads is a new buffer outside V8's heap, and V8 frees dead ones only in a
 * young-generation collection. Proxying a large file allocates little else, so that collection
 * comes only when V8 forces it: once the buffers reach twice the largest semi-space. That is 32 MiB
 * on Node 20, but V8 12 raised the young generation fourfold: on Node 24, the image's runtime,
 * a 1 GiB transfer kept up to 128 MiB of dead buffers resident (measured: 92 MiB of peak growth
 * for the gateway, 115 MiB for a bare loop of 64 KiB buffers). The cap brings that down to 8 MiB.
 *
 * Set at run time, not on the command line: V8 sized this thread's young generation when the
 * process started and keeps that size (requests keep their allocation budget between collections;
 * on the command line the flag would shrink it to a sixteenth), while the point where dead buffers
 * force a collection is read from the flag each time. The pages thread, started later, gets the
 * smaller young generation (12 MiB); sign-ins per second did not change measurably (Node 24, in
 * turn with the default: 0.94×, and the thread given 48 MiB against 12: 0.97×, rounds moving by
 * ±10 %). And no way of starting the gateway (image, `npm start`, the cluster's workers, a service
 * unit) can miss it. A value given on Node's command line is the operator's and is left alone.
 */
export function capYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeVersion: string = process.versions.node): YoungGenerationCap {
  if (Number(nodeVersion.split('.')[0]) < 22) return { skipped: 'Node.js before 22' };
  // V8 takes its flags with `_` or `-` between the words.
  if (execArgv.some((arg) => arg.replaceAll('_', '-').startsWith(FLAG))) return { skipped: 'set on the command line' };
  v8.setFlagsFromString(`${FLAG}=${YOUNG_GENERATION_CAP_MB}`);
  return { capMb: YOUNG_GENERATION_CAP_MB };
}
