import type { Clock } from '../../src/clock.js';
import { DjangoUpstream } from './django-upstream.js';
import { GatewayProcess, baseEnv, freePort, type GatewayLaunch } from './gateway.js';
import { Browser } from './http-client.js';
import type { PaperlessSim, SimOptions } from './paperless-sim.js';
import { RedisServer } from './redis.js';
import { SimUpstream } from './sim-upstream.js';
import { Slapd } from './slapd.js';
import type { NewUser, Upstream, UpstreamKind, UpstreamOptions } from './upstream.js';

/** Everything a gateway test needs, each part real and private: slapd, redis-server, a Paperless, the gateway. */
export interface UpstreamStack {
  slapd: Slapd;
  redis: RedisServer;
  upstream: Upstream;
  gateway: GatewayProcess;
  browser(): Browser;
  stop(): Promise<void>;
}

/** A stack on the simulator, whose state a test may read and change directly. */
export interface Stack extends UpstreamStack {
  sim: PaperlessSim;
}

export interface StackOptions {
  env?: Record<string, string>;
  redisPersist?: boolean;
  /** How the gateway is started (default: in this process). */
  launch?: GatewayLaunch;
  /** The Paperless user whose token the gateway gets (default: a superuser, as README says). */
  tokenUser?: NewUser;
  /** Options of the private slapd (e.g. the ppolicy overlay). */
  slapd?: ConstructorParameters<typeof Slapd>[0];
  /** The public URL's host instead of 127.0.0.1 (WebAuthn refuses IP addresses: `localhost`). */
  publicHost?: string;
  /** Time as the in-process gateway's proxying thread sees it (its sessions), for a test to move. */
  clock?: Clock;
}

async function startOn(upstream: Upstream, options: StackOptions): Promise<UpstreamStack> {
  const slapd = new Slapd(options.slapd);
  const redis = new RedisServer(options.redisPersist ?? false);
  const stopAll = () => Promise.all([upstream.destroy(), redis.destroy(), slapd.destroy()]);
  try {
    await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), upstream.start()]);
  } catch (err) {
    await stopAll();
    throw err;
  }
  // The superuser whose token the gateway provisions with, as README tells admins to create.
  const tokenUser = await upstream.addUser(options.tokenUser ?? { username: 'gateway-admin', is_superuser: true, is_staff: true });
  const paperlessToken = await upstream.tokenFor(tokenUser.username);
  // A port found free can be taken before the gateway binds it (another test file's server, or a
  // pages thread's port chosen by the system): then it is tried again on another, twice at most.
  const started = async (): Promise<GatewayProcess> => {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const candidate = new GatewayProcess(
        {
          ...baseEnv({ ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl: upstream.url, port, paperlessToken }),
          ...(options.publicHost ? { GATEWAY_PUBLIC_URL: `http://${options.publicHost}:${port}` } : {}),
          ...options.env,
        },
        false,
        options.launch,
        options.clock,
      );
      try {
        await candidate.start();
        return candidate;
      } catch (err) {
        // Left running, the servers would keep the test process alive after the failure.
        await candidate.stop();
        const taken = String(err instanceof Error ? err.message : err).includes('EADDRINUSE') && options.env?.GATEWAY_PORT === undefined;
        if (taken && attempt < 3) continue;
        await stopAll();
        throw err;
      }
    }
  };
  const gateway = await started();
  return {
    slapd,
    redis,
    upstream,
    gateway,
    browser: () => new Browser(gateway.url),
    stop: async () => {
      await gateway.stop();
      await stopAll();
    },
  };
}

/** The stack on the simulator. */
export async function startStack(options: StackOptions & { sim?: SimOptions } = {}): Promise<Stack> {
  const upstream = new SimUpstream(options.sim);
  return { ...(await startOn(upstream, options)), sim: upstream.sim };
}

export function createUpstream(kind: UpstreamKind, options: UpstreamOptions = {}): Upstream {
  return kind === 'django' ? new DjangoUpstream(options) : new SimUpstream(options);
}

/** The stack on either upstream, for tests that must hold on the simulator and on Django alike. */
export function startStackOn(kind: UpstreamKind, options: StackOptions & { upstream?: UpstreamOptions } = {}): Promise<UpstreamStack> {
  return startOn(createUpstream(kind, options.upstream), options);
}
