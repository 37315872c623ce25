import http from 'node:http';
import { pumpBytes } from './pump.js';


/** Streams `bytes` as a POST body; resolves with the seconds it took until the answer arrived. */
export function upload(url: string, bytes: number, headers: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(bytes) }, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        const received = (JSON.parse(body || '{}') as { bytes?: number }).bytes;
        if (res.statusCode !== 200 || received !== bytes) reject(new Error(`upload to ${url}: status ${res.statusCode}, ${received} of ${bytes} bytes arrived: ${body.slice(0, 200)}`));
        else resolve((performance.now() - started) / 1000);
      });
    });
    req.on('error', reject);
    pumpBytes(req, bytes);
  });
}

/** Reads a download to its end; resolves with the seconds it took. */
export function download(url: string, bytes: number, headers: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => {
          if (res.statusCode !== 200 || received !== bytes) reject(new Error(`download from ${url}: status ${res.statusCode}, ${received} of ${bytes} bytes`));
          else resolve((performance.now() - started) / 1000);
        });
      })
      .on('error', reject);
  });
}
