import { GatewayProcess, baseEnv, freePort, type Launch } from './gateway.js';
import { Browser } from './http-client.js';
import { PaperlessSim, type SimOptions, type SimUser } from './paperless-sim.js';
import { RedisServer } from './redis.js';
import { Slapd } from './slapd.js';

/** Everything a gateway test needs, each part real and private: slapd, redis-server, the simulator, the gateway. */
export interface Stack {
  slapd: Slapd;
  redis: RedisServer;
  sim: PaperlessSim;
  gateway: GatewayProcess;
  browser(): Browser;
  stop(): Promise<void>;
}

export async function startStack(
  options: {
    env?: Record<string, string>;
    sim?: SimOptions;
    redisPersist?: boolean;
    /** How the gateway is started (default: the sources through tsx). */
    launch?: Launch;
    /** The Paperless user whose token the gateway gets (default: a superuser, as README says). */
    tokenUser?: Partial<SimUser> & { username: string };
  } = {},
): Promise<Stack> {
  const slapd = new Slapd();
  const redis = new RedisServer(options.redisPersist ?? false);
  const sim = new PaperlessSim(options.sim);
  await Promise.all([slapd.start().then(() => slapd.seed()), redis.start(), sim.start()]);
  const port = await freePort();
  // The superuser whose token the gateway provisions with, as README tells admins to create.
  const tokenUser = sim.addUser(options.tokenUser ?? { username: 'gateway-admin', is_superuser: true, is_staff: true });
  const paperlessToken = sim.tokenFor(tokenUser.username);
  const gateway = new GatewayProcess(
    { ...baseEnv({ ldapUrl: slapd.url, redisUrl: redis.url, upstreamUrl: sim.url, port, paperlessToken }), ...options.env },
    false,
    options.launch,
  );
  try {
    await gateway.start();
  } catch (err) {
    // Left running, the servers would keep the test process alive after the failure.
    await Promise.all([gateway.stop(), sim.stop(), redis.destroy(), slapd.destroy()]);
    throw err;
  }
  return {
    slapd,
    redis,
    sim,
    gateway,
    browser: () => new Browser(gateway.url),
    stop: async () => {
      await gateway.stop();
      await Promise.all([sim.stop(), redis.destroy(), slapd.destroy()]);
    },
  };
}
