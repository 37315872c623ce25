/**
 * Paperless's upload is multipart/form-data with one file field, `document`. The tests send
 * well-formed bodies of any size without holding them, and the simulator counts the file's
 * bytes as Django's parser would, without holding them either.
 */
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

const BOUNDARY = 'gateway-test-boundary';

export interface MultipartUpload {
  stream: Readable;
  /** Content-Length of the whole body. */
  length: number;
  contentType: string;
  /** Bytes the stream has handed to its consumer so far. */
  produced(): number;
}

/** A `document` upload of `size` bytes (a multiple of the chunk), produced on the fly; `delayMs` paces each chunk. */
export function documentUpload(size: number, options: { chunk?: Buffer; delayMs?: number; filename?: string } = {}): MultipartUpload {
  const chunk = options.chunk ?? Buffer.alloc(64 * 1024, 0x25);
  if (size % chunk.length !== 0) throw new Error(`size ${size} is not a multiple of the chunk (${chunk.length})`);
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="document"; filename="${options.filename ?? 'upload.pdf'}"\r\nContent-Type: application/pdf\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  const parts = size / chunk.length;
  let sent = -1;
  let produced = 0;
  const stream = new Readable({
    read() {
      const push = () => {
        const next = sent === -1 ? head : sent < parts ? chunk : sent === parts ? tail : null;
        if (next) produced += next.length;
        this.push(next);
        sent++;
      };
      if (options.delayMs && sent >= 0 && sent < parts) setTimeout(push, options.delayMs);
      else push();
    },
  });
  return { stream, length: head.length + size + tail.length, contentType: `multipart/form-data; boundary=${BOUNDARY}`, produced: () => produced };
}

/**
 * The size of the `document` part of a single-part upload, counted while streaming; undefined
 * when the body is not such an upload (Django then finds no file and Paperless answers 400).
 */
export async function documentBytes(req: IncomingMessage): Promise<number | undefined> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(req.headers['content-type'] ?? '');
  const name = boundary?.[1] ?? boundary?.[2];
  let valid = name !== undefined;
  const trailer = Buffer.from(`\r\n--${name}--`);
  const keep = trailer.length + 2;
  let head: Buffer | undefined = Buffer.alloc(0);
  let pending = Buffer.alloc(0);
  let count = 0;
  for await (const data of req) {
    let chunk = data as Buffer;
    if (!valid) continue; // drain, as Django reads the whole body before answering
    if (head) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        valid = head.length < 16 * 1024;
        continue;
      }
      const headers = head.subarray(0, end).toString('latin1');
      valid = headers.startsWith(`--${name}\r\n`) && /^content-disposition: form-data; name="document"; filename=/im.test(headers);
      chunk = head.subarray(end + 4);
      head = undefined;
    }
    count += chunk.length;
    pending = chunk.length >= keep ? Buffer.from(chunk.subarray(chunk.length - keep)) : Buffer.concat([pending, chunk]).subarray(-keep);
  }
  if (!valid || head) return undefined;
  const text = pending.toString('latin1');
  const end = text.endsWith('\r\n') ? text.slice(0, -2) : text;
  return end.endsWith(trailer.toString('latin1')) ? count - trailer.length - (text.length - end.length) : undefined;
}

/** Posts an upload to Paperless's upload endpoint as the page does: the browser's cookies, its origin and X-CSRFToken. */
export function postUpload(base: string, browser: { cookieHeader(): string; jar: Map<string, string> }, upload: MultipartUpload): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL('/api/documents/post_document/', base), {
      method: 'POST',
      headers: {
        Cookie: browser.cookieHeader(),
        Origin: base,
        'X-CSRFToken': browser.jar.get('csrftoken') ?? '',
        'Content-Type': upload.contentType,
        'Content-Length': String(upload.length),
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    upload.stream.pipe(req);
  });
}
