import v8 from 'node:v8';

/** V8's cap on the young generation under the scavenger (V8 12 and later: Node 22 and later). */
const FLAG = '--scavenger-max-new-space-capacity-mb';

/**
 * MiB: without pointer compression (Node's builds) V8 doubles it, so dead socket buffers are
 * collected once they reach 8 MiB (twice the 4 MiB semi-space it stands for; see capYoungGeneration).
 * Kept this small because V8 frees the dead buffers on another thread while the next ones pile up,
 * so a transfer's resident growth runs to a multiple of the cap; a smaller cap only means more
 * frequent scavenges of a young generation that holds little else during a transfer
 * (test/bench/HISTORY.md has the measurements).
 */
export const YOUNG_GENERATION_CAP_MB = 2;

export type YoungGenerationCap = { capMb: number } | { skipped: 'set on the command line' | 'Node.js before 22' };

/**
 * Every chunk a socket reads is a new buffer outside V8's heap, and V8 frees dead ones only in a
 * young-generation collection. Proxying a large file allocates little else, so that collection
 * comes only when V8 forces it: once the buffers reach twice the largest semi-space. That is 32 MiB
 * on Node 20, but V8 12 raised the young generation fourfold: on Node 24, the image's runtime,
 * up to 128 MiB of dead buffers can stay resident during a large transfer. The cap brings that
 * point down to 8 MiB.
 *
 * Set at run time, not on the command line: V8 sized this thread's young generation when the
 * process started and keeps that size (requests keep their allocation budget between collections;
 * on the command line the flag would shrink it to a sixteenth), while the point where dead buffers
 * force a collection is read from the flag each time. The pages thread, started later, gets the
 * smaller young generation (12 MiB); that is enough for its work, which is short-lived objects
 * per sign-in rather than a stream of large buffers. And no way of starting the gateway (image,
 * `npm start`, the cluster's workers, a service unit) can miss it. A value given on Node's
 * command line is the operator's and is left alone.
 */
export function capYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeVersion: string = process.versions.node): YoungGenerationCap {
  if (Number(nodeVersion.split('.')[0]) < 22) return { skipped: 'Node.js before 22' };
  // V8 takes its flags with `_` or `-` between the words.
  if (execArgv.some((arg) => arg.replaceAll('_', '-').startsWith(FLAG))) return { skipped: 'set on the command line' };
  v8.setFlagsFromString(`${FLAG}=${YOUNG_GENERATION_CAP_MB}`);
  return { capMb: YOUNG_GENERATION_CAP_MB };
}
