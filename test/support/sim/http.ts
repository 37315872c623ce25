/** The simulator's HTTP plumbing: DRF-shaped errors, JSON answers, pagination and body reading. */
import type http from 'node:http';

/** An answer thrown from anywhere in a request: DRF raises its errors the same way. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  cookies?: string[];
}

export function json(status: number, body: unknown): Answer {
  return { status, body, headers: { 'Content-Type': 'application/json' } };
}

export function redirect(location: string, cookies?: string[]): Answer {
  return { status: 302, body: '', headers: { Location: location }, ...(cookies ? { cookies } : {}) };
}

export function send(res: http.ServerResponse, answer: Answer): void {
  const { status, body, headers = {}, cookies = [] } = answer;
  const contentType = headers['Content-Type'] ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
  // DRF renders every JSON response, a bare string (a token, a task id) included, as JSON.
  const text = typeof body === 'string' && !contentType.startsWith('application/json') ? body : JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': contentType, ...(cookies.length ? { 'Set-Cookie': cookies } : {}) });
  res.end(text);
}

/** DRF's page-number pagination with Paperless's extra `all` (every id, not just this page's). */
export function paginate<T extends { id: number }, R>(items: T[], url: URL, req: http.IncomingMessage, maxPageSize: number, serialize: (item: T) => R) {
  const pageSize = Math.min(Number(url.searchParams.get('page_size') ?? 25) || 25, maxPageSize);
  const page = Number(url.searchParams.get('page') ?? 1) || 1;
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  if (page > pages) throw new HttpError(404, { detail: 'Invalid page.' });
  const link = (p: number) => {
    const u = new URL(url.pathname + url.search, `http://${req.headers.host ?? 'localhost'}`);
    u.searchParams.set('page', String(p));
    return u.toString();
  };
  return {
    count: items.length,
    next: page < pages ? link(page + 1) : null,
    previous: page > 1 ? link(page - 1) : null,
    all: items.map((i) => i.id),
    results: items.slice((page - 1) * pageSize, page * pageSize).map(serialize),
  };
}

export async function readBody(req: http.IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += (chunk as Buffer).toString();
  return body;
}

export async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  try {
    return JSON.parse(text || '{}') as Record<string, unknown>;
  } catch {
    throw new HttpError(400, { detail: 'JSON parse error' });
  }
}

export function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
