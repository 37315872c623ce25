import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../support/ports.js';
import { stopChild } from '../support/process.js';

/**
 * Debian's nginx three times over: a plain `proxy_pass`, and the forward-auth
 * design (Authelia, authentik, tinyauth behind nginx): `auth_request` to an
 * auth endpoint on every request, then `proxy_pass`. Forward-auth twice: as
 * Authelia's and SWAG's nginx snippets write it (`proxy_pass $variable` to the
 * auth server, which gives nginx no keep-alive pool: one new connection per
 * request), and at its best, with a keep-alive pool to the auth server.
 * The application upstream is always kept alive.
 */
export class Nginx {
  private process?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'gw-bench-nginx-'));

  constructor(
    private readonly ports: { plain: number; forwardAuth: number; forwardAuthGuide: number; upstream: number; auth: number },
  ) {
    // Workers drop to nobody when started as root; they must reach their temp folders.
    chmodSync(this.dir, 0o755);
  }

  config(): string {
    const keepAlive = 'proxy_http_version 1.1; proxy_set_header Connection "";';
    return `worker_processes auto;
pid ${this.dir}/nginx.pid;
error_log ${this.dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log ${this.dir}/access.log;
  client_body_temp_path ${this.dir}/body; proxy_temp_path ${this.dir}/proxy;
  fastcgi_temp_path ${this.dir}/fastcgi; uwsgi_temp_path ${this.dir}/uwsgi; scgi_temp_path ${this.dir}/scgi;
  upstream app { server 127.0.0.1:${this.ports.upstream}; keepalive 64; }
  upstream auth { server 127.0.0.1:${this.ports.auth}; keepalive 64; }
  server {
    listen 127.0.0.1:${this.ports.plain};
    location / { proxy_pass http://app; ${keepAlive} }
  }
  server {
    listen 127.0.0.1:${this.ports.forwardAuth};
    location / { auth_request /_auth; proxy_pass http://app; ${keepAlive} }
    location = /_auth { internal; proxy_pass http://auth/auth; proxy_pass_request_body off; proxy_set_header Content-Length ""; ${keepAlive} }
  }
  server {
    listen 127.0.0.1:${this.ports.forwardAuthGuide};
    location / { auth_request /_auth; proxy_pass http://app; ${keepAlive} }
    location = /_auth {
      internal;
      set $upstream_auth http://127.0.0.1:${this.ports.auth}/auth;
      proxy_pass $upstream_auth; proxy_pass_request_body off; proxy_set_header Content-Length ""; ${keepAlive}
    }
  }
}
`;
  }

  /** The master's pid (its workers are its children), for CPU accounting. */
  get pid(): number {
    return this.process?.pid ?? 0;
  }

  async start(): Promise<void> {
    const file = join(this.dir, 'nginx.conf');
    writeFileSync(file, this.config());
    this.process = spawn('nginx', ['-p', this.dir, '-c', file, '-g', 'daemon off;'], { stdio: 'ignore' });
    await Promise.all([waitForPort(this.ports.plain), waitForPort(this.ports.forwardAuth), waitForPort(this.ports.forwardAuthGuide)]);
  }

  async destroy(): Promise<void> {
    await stopChild(this.process, 'SIGQUIT');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
