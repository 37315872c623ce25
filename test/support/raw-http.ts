import net from 'node:net';

/**
 * Sends bytes exactly as given (curl --path-as-is, odd header bytes, pipelined requests) and
 * resolves with everything the server answered, read as Latin-1, once it closes or goes quiet.
 */
export function rawRequest(port: number, request: string | Buffer, quietMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(typeof request === 'string' ? Buffer.from(request, 'latin1') : request));
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(quietMs, () => {
      socket.destroy();
      resolve(data);
    });
  });
}
