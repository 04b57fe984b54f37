import { type RequestRates, round } from './request-rates.ts';

export interface Probe {
  status: 'up' | 'down';
  /** The round trip of `select 1` (PING for Redis), in milliseconds; null when it failed or did not answer in time. */
  latency_ms: number | null;
}

export interface Status {
  /** ok while the database (and Redis, when the server uses one) answers; else degraded. */
  status: 'ok' | 'degraded';
  version: string;
  started_at: string;
  uptime_seconds: number;
  /** The server processes configured (WORKERS); the figures below are the answering process's own. */
  workers: number;
  database: Probe;
  /** Null when the server uses no Redis (REDIS_URL unset, or rate limits off). */
  redis: Probe | null;
  requests: { last_1m: RequestRates; last_5m: RequestRates };
}

function duration(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  if (minutes > 0) return `${minutes} min ${seconds % 60} s`;
  return `${seconds} s`;
}

const percent = (rate: number) => `${round(rate * 100, 1)} %`;

function probeCell(probe: Probe | null, unused: string): string {
  if (probe === null) return `<td class="muted" colspan="2">${unused}</td>`;
  const latency = probe.latency_ms === null ? 'no answer within the time allowed' : `${probe.latency_ms} ms`;
  return `<td class="${probe.status}">${probe.status}</td><td>${latency}</td>`;
}

function ratesRow(label: string, rates: RequestRates): string {
  return (
    `<tr><th>${label}</th><td>${rates.requests} (${rates.requests_per_second}/s)</td>` +
    `<td>${rates.errors_4xx} (${percent(rates.error_rate_4xx)})</td><td>${rates.errors_5xx} (${percent(rates.error_rate_5xx)})</td></tr>`
  );
}

/** The page a person reads; every value in it is a number or one of a few fixed words. */
export function renderStatus(status: Status): string {
  const seconds = (rates: RequestRates, window: number) => (rates.window_seconds < window ? ` <span class="muted">(only ${rates.window_seconds} s so far)</span>` : '');
  const workers =
    status.workers > 1
      ? `This server runs ${status.workers} processes on one port; these figures are those of the process that answered this request, and a reload may show another's.`
      : 'These figures are those of the server process that answered this request.';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="15">
<title>Status · Feedback gateway</title>
<style>
body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #d0d7de; }
.up, .ok { color: #1a7f37; font-weight: 600; } .down, .degraded { color: #cf222e; font-weight: 600; } .muted { color: #656d76; }
</style>
</head>
<body>
<h1>Feedback gateway: <span id="overall" class="${status.status}">${status.status}</span></h1>
<table>
<tr><th>Version</th><td colspan="2">${status.version}</td></tr>
<tr><th>Up for</th><td colspan="2">${duration(status.uptime_seconds)} <span class="muted">(since ${status.started_at})</span></td></tr>
<tr id="database"><th>Database</th>${probeCell(status.database, '')}</tr>
<tr id="redis"><th>Redis</th>${probeCell(status.redis, 'not used (REDIS_URL unset or rate limits off)')}</tr>
</table>
<h2>Requests answered</h2>
<table>
<tr><th></th><th>requests</th><th>4xx</th><th>5xx</th></tr>
${ratesRow(`Last minute${seconds(status.requests.last_1m, 60)}`, status.requests.last_1m)}
${ratesRow(`Last 5 minutes${seconds(status.requests.last_5m, 300)}`, status.requests.last_5m)}
</table>
<p class="muted">${workers} The same as JSON: send <code>Accept: application/json</code>. This page refreshes every 15 s.</p>
<p><a href="/docs">REST playground</a> · <a href="/docs/errors">Error codes</a> · <a href="/graphql">GraphiQL</a> · <a href="/v3/rest/postman.json">Postman collection</a></p>
</body>
</html>
`;
}

