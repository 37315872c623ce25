import type { LoadResult } from './wrk.js';

export interface Target {
  name: string;
  measured: string;
  met: boolean;
}

export interface Results {
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string; node: string };
  date: string;
  settings: { seconds: number; warmup: number; connections: number; transferBytes: number; websockets: number };
  throughput: {
    direct: LoadResult;
    nginx: LoadResult;
    /** As Authelia's and SWAG's nginx snippets configure it: the floor. */
    forwardAuthFloor: LoadResult;
    /** With a keep-alive pool to the auth server: forward-auth at its best. */
    forwardAuthKeepAlive: LoadResult;
    bareHttpProxy3: LoadResult;
    gateway: LoadResult;
    /** The same gateway again after the transfers, websockets and logins. */
    gatewayAfterHeavy: LoadResult;
    gatewayWorkers: LoadResult & { workers: number };
  };
  transfers: { uploadRatio: number; downloadRatio: number; uploadMiBps: number; downloadMiBps: number; peakRssGrowthMiB: number; bareUploadRatio: number; bareDownloadRatio: number };
  websockets: { count: number; delivered: number; rssGrowthMiB: number };
  loginsPerSecond: number;
  targets: Target[];
}

const x = (n: number) => `${n.toFixed(2)}×`;
const size = (bytes: number) => (bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(2)} GiB` : `${+(bytes / 1024 ** 2).toFixed(1)} MiB`);

/** The targets, each judged on ratios from the same run. */
export function evaluate(r: Results): Target[] {
  const t = r.throughput;
  const gib = size(r.settings.transferBytes);
  const best = t.gatewayWorkers.requestsPerSecond >= t.gateway.requestsPerSecond ? t.gatewayWorkers : t.gateway;
  const vsFloor = best.requestsPerSecond / t.forwardAuthFloor.requestsPerSecond;
  const vsBare = t.gateway.requestsPerSecond / t.bareHttpProxy3.requestsPerSecond;
  return [
    { name: 'gateway ≥ 2.0× the forward-auth floor', measured: x(vsFloor), met: vsFloor >= 2 },
    { name: 'gateway (1 worker) ≥ 0.9× bare http-proxy-3', measured: x(vsBare), met: vsBare >= 0.9 },
    { name: "gateway p99 no worse than the floor's", measured: `${best.p99Ms.toFixed(2)} ms vs ${t.forwardAuthFloor.p99Ms.toFixed(2)} ms`, met: best.p99Ms <= t.forwardAuthFloor.p99Ms },
    { name: `${gib} upload ≥ 0.8× direct`, measured: x(r.transfers.uploadRatio), met: r.transfers.uploadRatio >= 0.8 },
    { name: `${gib} download ≥ 0.8× direct`, measured: x(r.transfers.downloadRatio), met: r.transfers.downloadRatio >= 0.8 },
    { name: `${gib} transfers ≤ 32 MiB RSS growth`, measured: `${r.transfers.peakRssGrowthMiB.toFixed(1)} MiB`, met: r.transfers.peakRssGrowthMiB <= 32 },
    {
      name: `${r.settings.websockets} websockets within 150 MiB, all receive a broadcast`,
      measured: `${r.websockets.rssGrowthMiB.toFixed(1)} MiB, ${r.websockets.delivered}/${r.websockets.count} received`,
      met: r.websockets.rssGrowthMiB <= 150 && r.websockets.delivered === r.settings.websockets,
    },
    { name: '≥ 200 logins/s', measured: r.loginsPerSecond.toFixed(0), met: r.loginsPerSecond >= 200 },
  ];
}

export function markdown(r: Results): string {
  const t = r.throughput;
  const direct = t.direct.requestsPerSecond;
  const row = (name: string, l: LoadResult) => `| ${name} | ${Math.round(l.requestsPerSecond).toLocaleString('en-US')} | ${l.p50Ms.toFixed(2)} | ${l.p99Ms.toFixed(2)} | ${(l.requestsPerSecond / direct).toFixed(2)}× |`;
  return [
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGiB} GiB, Linux ${r.machine.kernel}, Node ${r.machine.node}; ${r.date.slice(0, 10)}.`,
    `wrk -t1 -c${r.settings.connections}, keep-alive, ${r.settings.seconds} s after ${r.settings.warmup} s warm-up, 1 KB JSON upstream; everything on the same machine.`,
    '',
    '| setup | req/s | p50 ms | p99 ms | vs direct |',
    '|---|---:|---:|---:|---:|',
    row('direct to upstream', t.direct),
    row('nginx `proxy_pass`', t.nginx),
    row('nginx `auth_request`, as the Authelia/SWAG snippets write it (**forward-auth floor**)', t.forwardAuthFloor),
    row('nginx `auth_request`, keep-alive to the auth server', t.forwardAuthKeepAlive),
    row('bare http-proxy-3, gateway agent settings', t.bareHttpProxy3),
    row('**gateway**, signed in, 1 worker', t.gateway),
    row('the same gateway after the transfers, websockets and logins below', t.gatewayAfterHeavy),
    row(`**gateway**, signed in, ${t.gatewayWorkers.workers} workers`, t.gatewayWorkers),
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...r.targets.map((target) => `| ${target.name} | ${target.measured} | ${target.met ? 'yes' : '**no**'} |`),
    '',
    `${size(r.settings.transferBytes)} through the gateway: upload ${r.transfers.uploadMiBps.toFixed(0)} MiB/s, download ${r.transfers.downloadMiBps.toFixed(0)} MiB/s;`,
    `bare http-proxy-3 reaches ${x(r.transfers.bareUploadRatio)} (upload) and ${x(r.transfers.bareDownloadRatio)} (download) of direct in the same run.`,
    '',
  ].join('\n');
}
