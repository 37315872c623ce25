/**
 * A Paperless-ngx simulator that follows ../../../shared/paperless-contract.md, assembled from
 * its parts in sim/: the store (database), Django's auth shell, the REST API, the UI page and the
 * status websockets, wrapped in fault injection and, outermost, a recorder that keeps every
 * request exactly as it arrived so tests can assert what reached Paperless.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DjangoApp } from './sim/django-app.js';
import { DjangoAuth } from './sim/django-auth.js';
import { Faults } from './sim/faults.js';
import type { HttpHandler, UpgradeHandler } from './sim/handler.js';
import { type Settings, type SimOptions, settings } from './sim/options.js';
import { Recorder, type RecordedRequest } from './sim/recorder.js';
import { RestApi } from './sim/rest-api.js';
import { StatusSockets } from './sim/status-sockets.js';
import { type SimGroup, SimStore, type SimUser } from './sim/store.js';

export type { RecordedRequest, SimGroup, SimOptions, SimUser };
export { ALL_CODENAMES } from './sim/permissions.js';

export class PaperlessSim {
  /** Paperless settings; tests may change them while it runs. */
  readonly options: Settings;
  readonly store = new SimStore();
  readonly faults = new Faults();
  readonly recorder: Recorder;
  readonly status: StatusSockets;
  private readonly handleHttp: HttpHandler;
  private readonly handleUpgrade: UpgradeHandler;
  private server?: http.Server;
  port = 0;

  constructor(options: SimOptions = {}) {
    this.options = settings(options);
    const auth = new DjangoAuth(this.store, this.options);
    this.status = new StatusSockets(
      this.store,
      auth,
      () => this.faults.upgradeHeaders(),
      () => this.faults.upgradeAnswer,
      () => this.options.deniedHandshake ?? (this.options.line === 3 ? 'forbidden' : 'never'),
      () => this.faults.holdHandshakes,
    );
    const app = new DjangoApp(this.store, this.options, auth, new RestApi(this.store, this.options, (owner, data) => this.status.statusUpdate(owner, data)));
    this.recorder = new Recorder(() => this.options.remoteUserKey);
    this.handleHttp = this.recorder.http(this.faults.http(app.handle));
    this.handleUpgrade = this.recorder.upgrade(this.status.upgrade);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => void this.handleHttp(req, res));
    this.server.on('upgrade', (req, socket: Socket, head: Buffer) => this.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.status.close();
    const srv = this.server;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    this.server = undefined;
  }

  // The store and recorder's everyday views, so tests read as "what does Paperless hold".
  get users(): SimUser[] {
    return this.store.users;
  }
  get groups(): SimGroup[] {
    return this.store.groups;
  }
  get sessions() {
    return this.store.sessions;
  }
  get tokens() {
    return this.store.tokens;
  }
  get uploads() {
    return this.store.uploads;
  }
  get requests(): RecordedRequest[] {
    return this.recorder.requests;
  }
  addUser(fields: Partial<SimUser> & { username: string }): SimUser {
    return this.store.addUser(fields);
  }
  addGroup(name: string, permissions: string[] = []): SimGroup {
    return this.store.addGroup(name, permissions);
  }
  user(username: string): SimUser | undefined {
    return this.store.user(username);
  }
  tokenFor(username: string): string {
    return this.store.tokenFor(username);
  }
  addShareLink(slug: string, expired = false): void {
    this.store.shareLinks.set(slug, expired);
  }
  requestsTo(path: string): RecordedRequest[] {
    return this.recorder.requestsTo(path);
  }
}
