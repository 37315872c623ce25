import type { SoakResult } from './soak.js';
import type { LoadResult } from './wrk.js';

export interface Target {
  name: string;
  measured: string;
  met: boolean;
}

export interface Results {
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string; node: string };
  date: string;
  settings: { seconds: number; warmup: number; runs: number; connections: number; transferBytes: number; websockets: number };
  throughput: {
    direct: LoadResult;
    nginx: LoadResult;
    /** As Authelia's and SWAG's nginx snippets configure it: the floor. */
    forwardAuthFloor: LoadResult;
    /** With a keep-alive pool to the auth server: forward-auth at its best. */
    forwardAuthKeepAlive: LoadResult;
    bareHttpProxy3: LoadResult;
    /** A lean `node:http` path (Node's client, `pipe`), the third candidate; absent in runs before it was added. */
    bareNodeHttp?: LoadResult;
    /** About twenty lines on undici: the core the gateway is measured against. */
    bareUndiciCore: LoadResult;
    gateway: LoadResult;
    /** The same gateway again after the transfers, websockets and logins. */
    gatewayAfterHeavy: LoadResult;
    /** The bare undici core measured again in turn with the gateway's after-use runs (it served the transfers too). */
    bareUndiciCoreAgain: LoadResult;
    /** Again, after 30 s of rest: tells a lasting slowdown from a collector catching up. */
    gatewayRested: LoadResult;
    gatewayWorkers: LoadResult & { workers: number };
  };
  transfers: {
    uploadRatio: number;
    downloadRatio: number;
    uploadMiBps: number;
    downloadMiBps: number;
    peakRssGrowthMiB: number;
    /** The bare undici core's own peak RSS growth over its transfers: what any Node proxy shows at this speed. */
    corePeakRssGrowthMiB: number;
    bareUploadRatio: number;
    bareDownloadRatio: number;
    /** The gateway's throughput over the bare undici core's (≥ 0.9 wanted): the median of `runs` pairs taken in turn. */
    vsCoreUpload: number;
    vsCoreDownload: number;
  };
  soak?: SoakResult;
  /** Absent in runs before start-up was measured. */
  startup?: StartupResult;
  websockets: { count: number; delivered: number; rssGrowthMiB: number };
  loginsPerSecond: number;
  targets: Target[];
}

export interface StartupResult {
  /** How many times each figure was taken; each figure is the median. */
  runs: number;
  /** `node dist/main.js --help`, spawn to exit. */
  helpMs: number;
  helpSamplesMs: number[];
  /** Spawn of `dist/main.js serve` (1 worker) to its 'gateway listening' log line. */
  readyMs: number;
  readySamplesMs: number[];
  /** CPU time (user + system, both threads) the process had used when it was ready: steadier than wall time on a busy machine. */
  readyCpuMs: number;
  /** VmRSS of the gateway's process (both threads: proxying and pages) `idleSeconds` after ready. */
  idleRssMiB: number;
  idleRssSamplesMiB: number[];
  idleSeconds: number;
}

/** The start-up and memory targets. */
export const STARTUP_TARGETS = { helpMs: 300, readyMs: 1500, idleRssMiB: 90, soakRssMiB: 200 };

export function startupTargets(r: StartupResult): Target[] {
  const of = (xs: number[], digits: number) => `median of ${xs.map((v) => v.toFixed(digits)).join(', ')}`;
  return [
    { name: `\`--help\` ≤ ${STARTUP_TARGETS.helpMs / 1000} s`, measured: `${(r.helpMs / 1000).toFixed(2)} s (${of(r.helpSamplesMs.map((ms) => ms / 1000), 2)})`, met: r.helpMs <= STARTUP_TARGETS.helpMs },
    {
      name: `start to ready ≤ ${STARTUP_TARGETS.readyMs / 1000} s (1 worker)`,
      measured: `${(r.readyMs / 1000).toFixed(2)} s (${of(r.readySamplesMs.map((ms) => ms / 1000), 2)}; ${(r.readyCpuMs / 1000).toFixed(2)} s CPU)`,
      met: r.readyMs <= STARTUP_TARGETS.readyMs,
    },
    { name: `idle RSS ≤ ${STARTUP_TARGETS.idleRssMiB} MiB (${r.idleSeconds} s after ready, both threads)`, measured: `${r.idleRssMiB.toFixed(1)} MiB (${of(r.idleRssSamplesMiB, 1)})`, met: r.idleRssMiB <= STARTUP_TARGETS.idleRssMiB },
  ];
}

const x = (n: number) => `${n.toFixed(2)}×`;
const size = (bytes: number) => (bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(2)} GiB` : `${+(bytes / 1024 ** 2).toFixed(1)} MiB`);

/** The targets, each judged on ratios from the same run. */
export function evaluate(r: Results): Target[] {
  const t = r.throughput;
  const gib = size(r.settings.transferBytes);
  const vsFloor = t.gateway.requestsPerSecond / t.forwardAuthFloor.requestsPerSecond;
  const vsCore = t.gateway.requestsPerSecond / t.bareUndiciCore.requestsPerSecond;
  // What the floor target asks of the core itself: a gateway costing nothing beyond the bare core reaches this.
  const coreVsFloor = t.bareUndiciCore.requestsPerSecond / t.forwardAuthFloor.requestsPerSecond;
  const cpu = (t.gateway.cpuUsPerRequest ?? Infinity) / (t.bareUndiciCore.cpuUsPerRequest ?? 1);
  const after = t.gatewayAfterHeavy.requestsPerSecond / t.gateway.requestsPerSecond;
  // The same, each figure over the bare core's beside it: what is left when the machine itself moved.
  const afterBesideCore = t.gatewayAfterHeavy.requestsPerSecond / t.bareUndiciCoreAgain.requestsPerSecond / vsCore;
  const transfers = Math.min(r.transfers.vsCoreUpload, r.transfers.vsCoreDownload);
  const targets: Target[] = [
    { name: '1 worker ≥ 2.0× the forward-auth floor', measured: `${x(vsFloor)} (the bare undici core itself: ${x(coreVsFloor)})`, met: vsFloor >= 2 },
    { name: '1 worker ≥ 0.8× the bare undici core', measured: x(vsCore), met: vsCore >= 0.8 },
    { name: "CPU per request ≤ 1.3× the bare undici core's", measured: `${x(cpu)} (${(t.gateway.cpuUsPerRequest ?? 0).toFixed(1)} vs ${(t.bareUndiciCore.cpuUsPerRequest ?? 0).toFixed(1)} µs)`, met: cpu <= 1.3 },
    { name: "p99 ≤ the floor's", measured: `${t.gateway.p99Ms.toFixed(2)} ms vs ${t.forwardAuthFloor.p99Ms.toFixed(2)} ms`, met: t.gateway.p99Ms <= t.forwardAuthFloor.p99Ms },
    // Met only when both say so: the raw figure cannot tell a slower gateway from a slower machine, nor the other one a faster machine from a recovering gateway.
    { name: 'after heavy use ≥ 0.95× fresh', measured: `${x(after)}; each beside the bare core: ${x(afterBesideCore)}`, met: after >= 0.95 && afterBesideCore >= 0.95 },
    { name: `${gib} transfers ≥ 0.9× the bare core's throughput`, measured: `upload ${x(r.transfers.vsCoreUpload)}, download ${x(r.transfers.vsCoreDownload)}`, met: transfers >= 0.9 },
    { name: `${gib} transfers ≤ 32 MiB RSS growth`, measured: `${r.transfers.peakRssGrowthMiB.toFixed(1)} MiB (bare core: ${r.transfers.corePeakRssGrowthMiB.toFixed(1)} MiB)`, met: r.transfers.peakRssGrowthMiB <= 32 },
    {
      name: `${r.settings.websockets} websockets within 150 MiB, all receive a broadcast`,
      measured: `${r.websockets.rssGrowthMiB.toFixed(1)} MiB, ${r.websockets.delivered}/${r.websockets.count} received`,
      met: r.websockets.rssGrowthMiB <= 150 && r.websockets.delivered === r.settings.websockets,
    },
    { name: '≥ 200 logins/s', measured: r.loginsPerSecond.toFixed(0), met: r.loginsPerSecond >= 200 },
  ];
  if (r.soak) {
    targets.push({
      name: `soak (${Math.round(r.soak.seconds / 60)} min at 70 %): RSS growth < 10 %, no 5xx`,
      measured: `${r.soak.rssGrowthPercent.toFixed(1)} %, ${r.soak.errors5xx} errors`,
      met: r.soak.rssGrowthPercent < 10 && r.soak.errors5xx === 0,
    });
    const peak = Math.max(...r.soak.samples.map((s) => s.rssMiB));
    targets.push({ name: `RSS during the soak ≤ ${STARTUP_TARGETS.soakRssMiB} MiB`, measured: `${peak.toFixed(1)} MiB at most`, met: peak <= STARTUP_TARGETS.soakRssMiB });
  }
  if (r.startup) targets.push(...startupTargets(r.startup));
  return targets;
}

export function markdown(r: Results): string {
  const t = r.throughput;
  const direct = t.direct.requestsPerSecond;
  const cpu = (l: LoadResult) => (l.cpuUsPerRequest === undefined ? '–' : l.cpuUsPerRequest.toFixed(1));
  const row = (name: string, l: LoadResult) => `| ${name} | ${Math.round(l.requestsPerSecond).toLocaleString('en-US')} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} | ${cpu(l)} | ${(l.requestsPerSecond / direct).toFixed(2)}× |`;
  return [
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}; ${r.date.slice(0, 10)}.`,
    `wrk -t1 -c${r.settings.connections}, keep-alive, ${r.settings.seconds} s after ${r.settings.warmup} s warm-up, 1 KB JSON upstream; everything on the same machine. The bare undici core and the fresh gateway: the median (by CPU per request) of ${r.settings.runs} runs each, taken in turn; the gateway again (in turn with the bare core again) and rested: the median of ${r.settings.runs}.`,
    '',
    '| setup | req/s | p50 ms | p99 ms | CPU µs/req | vs direct |',
    '|---|---:|---:|---:|---:|---:|',
    row('direct to upstream', t.direct),
    row('nginx `proxy_pass`', t.nginx),
    row('nginx `auth_request`, as the Authelia/SWAG snippets write it (**forward-auth floor**)', t.forwardAuthFloor),
    row('nginx `auth_request`, keep-alive to the auth server', t.forwardAuthKeepAlive),
    row('bare http-proxy-3, gateway agent settings', t.bareHttpProxy3),
    ...(t.bareNodeHttp ? [row('bare `node:http` core (`http.request`, `pipe`)', t.bareNodeHttp)] : []),
    row('bare undici core (`Pool.stream`)', t.bareUndiciCore),
    row('**gateway**, signed in, 1 worker', t.gateway),
    row('the same gateway after the transfers, websockets and logins below', t.gatewayAfterHeavy),
    row('the bare undici core again, in turn with that', t.bareUndiciCoreAgain),
    row('the same, after 30 s of rest', t.gatewayRested),
    row(`**gateway**, signed in, ${t.gatewayWorkers.workers} workers`, t.gatewayWorkers),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...r.targets.map((target) => `| ${target.name} | ${target.measured} | ${target.met ? 'yes' : '**no**'} |`),
    '',
    ...(r.startup
      ? [
          `Start-up (Node ${r.machine.node}, before the other measurements, one process at a time): \`node dist/main.js --help\` from spawn to exit, and \`serve\` with 1 worker from spawn to its 'gateway listening' line (slapd, Redis and the Paperless simulator up), each the median of ${r.startup.runs}; idle RSS is the process's VmRSS (both threads) ${r.startup.idleSeconds} s after ready.`,
          '',
        ]
      : []),
    `${size(r.settings.transferBytes)} through the gateway (the median of ${r.settings.runs}, each beside one through the bare undici core): upload ${r.transfers.uploadMiBps.toFixed(0)} MiB/s, download ${r.transfers.downloadMiBps.toFixed(0)} MiB/s;`,
    `bare http-proxy-3 reaches ${x(r.transfers.bareUploadRatio)} (upload) and ${x(r.transfers.bareDownloadRatio)} (download) of direct in the same run.`,
    '',
    ...(r.soak
      ? [
          `Soak: ${r.soak.seconds} s at about ${Math.round(r.soak.targetRps)} req/s (70 % of the fresh 1-worker figure) with ${r.soak.uploads} uploads, ${r.soak.websockets} websockets and ${r.soak.signIns} sign-ins beside; ${r.soak.errors5xx} errors.`,
          '',
          '| at | req/s | RSS MiB |',
          '|---:|---:|---:|',
          ...r.soak.samples.map((s) => `| ${s.atSeconds} s | ${Math.round(s.requestsPerSecond).toLocaleString('en-US')} | ${s.rssMiB.toFixed(1)} |`),
          '',
        ]
      : []),
  ].join('\n');
}
