/** What a simulated exchange produced, for the recorder: the answer's status and who Paperless saw. */
import type http from 'node:http';
import type { Socket } from 'node:net';

export interface Outcome {
  status: number;
  user?: string;
}

export type HttpHandler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<Outcome>;
export type UpgradeHandler = (req: http.IncomingMessage, socket: Socket, head: Buffer) => Outcome;
