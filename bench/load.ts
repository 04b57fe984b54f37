/**
 * The load generator, run by scenarios.ts `runLoad` as a child process so that it shares neither the
 * event loop nor the memory figures of the servers it measures. It receives one message
 * `{ scenario, baseUrl, load }`, runs autocannon, answers with its result and the answers by outcome, and exits.
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { type LoadOptions, PLACEHOLDER, type Scenario } from './scenarios.ts';

// Random per process (every run is a new process), then a counter.
const prefix = randomBytes(6).toString('hex');
let counter = 0;

/** autocannon `setupRequest`: every `__UNIQUE__` in the body and headers becomes a value no other request has (its external_id(s), its Idempotency-Key). */
function uniqueRequest(request: autocannon.Request): autocannon.Request {
  counter += 1;
  const unique = `${prefix}-${counter.toString(36)}`;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (typeof value === 'string') headers[name] = value.replaceAll(PLACEHOLDER, unique);
  }
  const body = typeof request.body === 'string' ? request.body.replaceAll(PLACEHOLDER, unique) : request.body;
  return { ...request, headers, body };
}

/**
 * autocannon `verifyBody`: a GraphQL error, a mutation's error union member (the scenarios select
 * `... on Error { code }`) or an error envelope counts as a mismatch, so fast failures cannot pass
 * for successes.
 */
export function isSuccessBody(body: unknown): boolean {
  const text = typeof body === 'string' ? body : String(body);
  return !text.includes('"errors":') && !text.includes('"code":') && !text.includes('"error":');
}

/** The error code of an error envelope or GraphQL error, when the body names one. */
function errorCode(body: string): string | null {
  return /"code":"([A-Z0-9_]+)"/.exec(body)?.[1] ?? null;
}

process.once('message', (message: { scenario: Scenario; baseUrl: string; load: LoadOptions }) => {
  const { scenario, baseUrl, load } = message;
  const outcomes: Record<string, number> = {};
  const tally = (outcome: string) => {
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  };
  const requests = scenario.requests.map((request) => {
    const dynamic = request.body?.includes(PLACEHOLDER) || Object.values(request.headers).some((value) => value.includes(PLACEHOLDER));
    return {
      method: request.method,
      path: request.path,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      ...(dynamic ? { setupRequest: uniqueRequest } : {}),
      onResponse: (status: number, body: string) => {
        const success = status >= 200 && status < 300 && isSuccessBody(body);
        tally(success ? '2xx' : `${status} ${errorCode(body) ?? (status < 300 ? 'error body' : 'no code')}`);
      },
    };
  });
  autocannon({ url: baseUrl, connections: load.connections, duration: load.duration, verifyBody: isSuccessBody, requests })
    .then((result) => process.send?.({ outcome: { result, outcomes } }, () => process.exit(0)))
    .catch((error: unknown) => process.send?.({ error: String(error) }, () => process.exit(1)));
});
process.send?.({ ready: true });
