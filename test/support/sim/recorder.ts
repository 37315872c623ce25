/** Records every request exactly as it arrived, before anything interprets it, and what came of it. */
import type { HttpHandler, UpgradeHandler } from './handler.js';
import { metaValue, parseCookies } from './django-parsing.js';
import { pairs } from './http.js';

export interface RecordedRequest {
  method: string;
  path: string;
  url: string;
  /** Raw header pairs exactly as they arrived. */
  rawHeaders: Array<[string, string]>;
  /** Header value Django would read for the remote-user key (joined with ','), if any. */
  remoteUser: string | undefined;
  cookies: Record<string, string | undefined>;
  /** The user the request was authenticated as, after middleware and API auth. */
  user: string | undefined;
  status?: number;
}

export class Recorder {
  readonly requests: RecordedRequest[] = [];

  /** `remoteUserKey` is the META key Django reads the identity from. */
  constructor(private readonly remoteUserKey: () => string) {}

  http(inner: HttpHandler): HttpHandler {
    return async (req, res) => {
      const record = this.record(req.method, req.url, req.rawHeaders, req.headers.cookie);
      return Object.assign(record, await inner(req, res));
    };
  }

  upgrade(inner: UpgradeHandler): UpgradeHandler {
    return (req, socket, head) => {
      const record = this.record(req.method, req.url, req.rawHeaders, req.headers.cookie);
      return Object.assign(record, inner(req, socket, head));
    };
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  private record(method = 'GET', url = '/', rawHeaders: string[], cookie: string | undefined): RecordedRequest {
    const record: RecordedRequest = {
      method,
      path: new URL(url, 'http://sim').pathname,
      url,
      rawHeaders: pairs(rawHeaders),
      remoteUser: metaValue(rawHeaders, this.remoteUserKey()),
      cookies: parseCookies(cookie ?? ''),
      user: undefined,
    };
    this.requests.push(record);
    return record;
  }
}
