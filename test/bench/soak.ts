import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Browser } from '../support/http-client.js';
import { treeMemory } from './processes.js';
import { upload } from './transfers.js';
import { openMany } from './websockets.js';
import { wrk } from './wrk.js';

export interface SoakSample {
  atSeconds: number;
  requestsPerSecond: number;
  rssMiB: number;
}

export interface SoakResult {
  seconds: number;
  targetRps: number;
  samples: SoakSample[];
  /** Answers ≥ 500 (wrk's non-2xx/3xx and socket errors count too) over the whole soak. */
  errors5xx: number;
  uploads: number;
  websockets: number;
  signIns: number;
  rssGrowthPercent: number;
}

const WINDOW = 30;

/**
 * Steady mixed use: proxied requests paced to a share of the measured maximum (wrk's per-request
 * delay), while uploads, websockets and sign-ins run beside them. Prints the RSS and req/s trend.
 */
export async function soak(opts: {
  url: string;
  cookie: string;
  pid: number;
  maxRps: number;
  seconds: number;
  connections: number;
  work: string;
  signIn: (url: string) => Promise<string>;
  say: (line: string) => void;
}): Promise<SoakResult> {
  const targetRps = opts.maxRps * 0.7;
  const script = join(opts.work, 'soak.lua');
  // Each connection waits this long after each answer; the answer itself takes about 1 ms here.
  const delayMs = Math.max(0, Math.round((opts.connections * 1000) / targetRps) - 1);
  writeFileSync(script, `function delay() return ${delayMs} end\n`);
  const session = { Cookie: opts.cookie, Origin: opts.url };
  const result: SoakResult = { seconds: opts.seconds, targetRps, samples: [], errors5xx: 0, uploads: 0, websockets: 0, signIns: 0, rssGrowthPercent: 0 };
  const rss0 = treeMemory(opts.pid);
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  let stop = false;
  const beside = (async () => {
    while (!stop) {
      try {
        await upload(`${opts.url}/bench/upload`, 4 * 1024 * 1024, session);
        result.uploads += 1;
        const sockets = await openMany(`${opts.url.replace('http', 'ws')}/ws/status/`, 20, session, 20);
        result.websockets += sockets.length;
        for (const ws of sockets) ws.close();
        await opts.signIn(opts.url);
        result.signIns += 1;
        const page = await new Browser(opts.url).get('/accounts/login/');
        if (page.status >= 500) result.errors5xx += 1;
      } catch (err) {
        result.errors5xx += 1;
        opts.say(`  soak: ${err instanceof Error ? err.message : String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  while (performance.now() < deadline) {
    const seconds = Math.min(WINDOW, Math.max(1, Math.round((deadline - performance.now()) / 1000)));
    const load = await wrk(`${opts.url}/api/documents/`, { seconds, connections: opts.connections, headers: { Cookie: opts.cookie }, script });
    result.errors5xx += load.errors;
    const sample = { atSeconds: Math.round((performance.now() - started) / 1000), requestsPerSecond: load.requestsPerSecond, rssMiB: treeMemory(opts.pid) / 1024 / 1024 };
    result.samples.push(sample);
    opts.say(`  soak ${String(sample.atSeconds).padStart(4)} s: ${Math.round(sample.requestsPerSecond)} req/s, RSS ${sample.rssMiB.toFixed(1)} MiB`);
  }
  stop = true;
  await beside;
  // Growth from the first window (warm) to the last, so start-up allocation is not counted as growth.
  const first = result.samples[0]?.rssMiB ?? rss0 / 1024 / 1024;
  const last = result.samples.at(-1)?.rssMiB ?? first;
  result.rssGrowthPercent = ((last - first) / first) * 100;
  return result;
}
