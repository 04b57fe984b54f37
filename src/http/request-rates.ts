import type { Metrics } from './metrics.ts';

/** How often the request counters are read into the ring of samples. */
const SAMPLE_EVERY_MS = 5_000;
/** Enough samples to reach back over the longest window the page reports (5 minutes), and one more. */
const SAMPLES_KEPT = (300 * 1000) / SAMPLE_EVERY_MS + 2;

/** The request counters of this process at one moment. */
export interface RequestCounts {
  at: number;
  requests: number;
  errors4xx: number;
  errors5xx: number;
}

export interface RequestRates {
  /** The seconds the figures cover: the window, or less while the process is younger. */
  window_seconds: number;
  requests: number;
  requests_per_second: number;
  errors_4xx: number;
  errors_5xx: number;
  /** The share of requests answered 4xx (0 to 1), 0 without requests. */
  error_rate_4xx: number;
  error_rate_5xx: number;
}


export const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The rates between `current` and the newest sample at least `windowSeconds` older, or the oldest
 * sample when none is that old yet. `samples` are in time order.
 */
export function ratesOver(samples: readonly RequestCounts[], current: RequestCounts, windowSeconds: number): RequestRates {
  const since = current.at - windowSeconds * 1000;
  const base = samples.findLast((sample) => sample.at <= since) ?? samples[0] ?? current;
  const seconds = (current.at - base.at) / 1000;
  const requests = current.requests - base.requests;
  const errors4xx = current.errors4xx - base.errors4xx;
  const errors5xx = current.errors5xx - base.errors5xx;
  return {
    window_seconds: Math.round(seconds),
    requests,
    requests_per_second: seconds > 0 ? round(requests / seconds, 3) : 0,
    errors_4xx: errors4xx,
    errors_5xx: errors5xx,
    error_rate_4xx: requests > 0 ? round(errors4xx / requests, 4) : 0,
    error_rate_5xx: requests > 0 ? round(errors5xx / requests, 4) : 0,
  };
}

/** Requests answered so far by status class, read from the request-duration histogram's counts. */
async function countRequests(metrics: Metrics): Promise<RequestCounts> {
  const counts: RequestCounts = { at: Date.now(), requests: 0, errors4xx: 0, errors5xx: 0 };
  for (const { metricName, labels, value } of (await metrics.httpDuration.get()).values) {
    if (metricName !== 'http_request_duration_seconds_count') continue;
    const status = Number(labels.status);
    counts.requests += value;
    if (status >= 400 && status < 500) counts.errors4xx += value;
    if (status >= 500) counts.errors5xx += value;
  }
  return counts;
}


export interface RequestSampler {
  /** The rates of the last minute and of the last five minutes, up to now. */
  recent(): Promise<{ last_1m: RequestRates; last_5m: RequestRates }>;
  stop(): void;
}

/** Reads the counters every few seconds into a bounded ring; rates are differences from it. */
export function sampleRequests(metrics: Metrics): RequestSampler {
  const samples: RequestCounts[] = [];
  const sample = async () => {
    samples.push(await countRequests(metrics));
    if (samples.length > SAMPLES_KEPT) samples.shift();
  };
  void sample();
  const timer = setInterval(() => void sample(), SAMPLE_EVERY_MS);
  timer.unref();
  return {
    async recent() {
      const current = await countRequests(metrics);
      return { last_1m: ratesOver(samples, current, 60), last_5m: ratesOver(samples, current, 300) };
    },
    stop: () => clearInterval(timer),
  };
}
