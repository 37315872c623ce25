import type { DestinationStream } from 'pino';

/** What a batch is handed to: sonic-boom (pino.destination, contentMode 'buffer'), which owns the file descriptor. */
export interface LineSink {
  write(bytes: Buffer): unknown;
  flushSync(): void;
}

/**
 * Access lines encoded into one buffer as they come, handed to sonic-boom as one write per batch.
 * Each line is pino's string built piece by piece; encoded at once it is read while still in the
 * cache, and each line is encoded exactly once. Strings collected and joined would be flattened
 * long after they were built, and sonic-boom's text mode would take the batch's UTF-8 length,
 * encode it for the write and encode it again to account for the write; in buffer mode it takes
 * the bytes as they are (test/bench/HISTORY.md has the measurements). sonic-boom still does the
 * writing (partial writes, EAGAIN on a full pipe).
 */
export class LineBatch implements DestinationStream {
  private buffer: Buffer;
  private used = 0;
  private lines = 0;

  constructor(
    private readonly sink: LineSink,
    private readonly maxLines: number,
    private readonly maxBytes: number,
  ) {
    this.buffer = Buffer.allocUnsafe(maxBytes);
  }

  write(line: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit: a line that might not fit starts a new batch.
    const worst = line.length * 3;
    if (this.used + worst > this.buffer.length) {
      this.flush();
      if (worst > this.buffer.length) {
        this.sink.write(Buffer.from(line));
        return;
      }
    }
    this.used += this.buffer.write(line, this.used);
    if (++this.lines >= this.maxLines) this.flush();
  }

  /** Hands what is collected to sonic-boom, which writes it at once (it runs with sync: true). */
  flush(): void {
    if (this.used === 0) return;
    const bytes = this.buffer.subarray(0, this.used);
    // A fresh buffer for the next batch: sonic-boom may keep this one until a full pipe drains.
    this.buffer = Buffer.allocUnsafe(this.maxBytes);
    this.used = 0;
    this.lines = 0;
    this.sink.write(bytes);
  }

  /** Before the process exits: everything collected, written now. */
  flushSync(): void {
    this.flush();
    this.sink.flushSync();
  }
}
