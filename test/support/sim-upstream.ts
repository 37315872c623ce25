import { PaperlessSim, type RecordedRequest, type SimOptions } from './paperless-sim.js';
import type { NewDocument, NewUser, Upstream, UpstreamUser } from './upstream.js';

/** The simulator behind the Upstream interface, so a test can run on it and on Django alike. */
export class SimUpstream implements Upstream {
  readonly kind = 'simulator' as const;
  readonly sim: PaperlessSim;

  constructor(options: SimOptions = {}) {
    this.sim = new PaperlessSim(options);
  }

  get url(): string {
    return this.sim.url;
  }

  get port(): number {
    return this.sim.port;
  }

  start(port?: number): Promise<void> {
    return this.sim.start(port);
  }

  stop(): Promise<void> {
    return this.sim.stop();
  }

  destroy(): Promise<void> {
    return this.sim.stop();
  }

  async addUser(user: NewUser): Promise<UpstreamUser> {
    const { groups = [], ...fields } = user;
    const ids = groups.map((name) => {
      const group = this.sim.groups.find((g) => g.name === name);
      if (!group) throw new Error(`no group ${name}: add it first`);
      return group.id;
    });
    return this.sim.addUser({ ...fields, groups: ids });
  }

  async addGroup(name: string, permissions: string[] = []) {
    return this.sim.addGroup(name, permissions);
  }

  async user(username: string): Promise<UpstreamUser | undefined> {
    return this.sim.user(username);
  }

  async tokenFor(username: string): Promise<string> {
    return this.sim.tokenFor(username);
  }

  async addDocument(document: NewDocument): Promise<{ id: number }> {
    const userId = (name: string) => {
      const user = this.sim.user(name);
      if (!user) throw new Error(`no user ${name}: add it first`);
      return user.id;
    };
    const groupId = (name: string) => {
      const group = this.sim.groups.find((g) => g.name === name);
      if (!group) throw new Error(`no group ${name}: add it first`);
      return group.id;
    };
    const { id } = this.sim.store.addDocument({
      title: document.title,
      owner: document.owner === undefined ? null : userId(document.owner),
      viewUsers: (document.viewUsers ?? []).map(userId),
      viewGroups: (document.viewGroups ?? []).map(groupId),
    });
    return { id };
  }

  async addShareLink(slug: string, options: { expired?: boolean } = {}): Promise<void> {
    this.sim.addShareLink(slug, options.expired ?? false);
  }

  async sessionUser(sessionKey: string): Promise<string | undefined> {
    const session = this.sim.sessions.get(sessionKey);
    return session ? (this.sim.users.find((u) => u.id === session.userId)?.username ?? '') : undefined;
  }

  async mark(): Promise<number> {
    return this.sim.requests.length;
  }

  async requestsSince(mark: number): Promise<RecordedRequest[]> {
    return this.sim.requests.slice(mark);
  }

  async uploads(): Promise<Array<{ user: string; bytes: number }>> {
    return this.sim.uploads;
  }

  async sendStatus(owner: string, status: string): Promise<void> {
    const user = this.sim.user(owner);
    if (!user) throw new Error(`no user ${owner}`);
    this.sim.status.statusUpdate(user, { status, current_progress: 50, message: 'test', task_id: 'control', filename: 'control.pdf', document_id: null });
  }
}
