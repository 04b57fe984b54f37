import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSql } from '../helpers/sql.ts';
import { type InterruptedDelivery, interruptDeliveries } from './interrupted-delivery.ts';

// Issue 12 item 3: a SIGKILL of the gateway in the middle of deliveries loses no event. The gateway
// runs as a child process; the receiver holds the deliveries open while the process is killed, and
// the next process delivers every one of them again, each with the webhook-id it had.

const RECORDS = 3;
let run: InterruptedDelivery;

beforeAll(async () => {
  run = await interruptDeliveries('SIGKILL', RECORDS);
}, 90_000);

afterAll(() => run?.close());

describe('a gateway killed with SIGKILL while delivering', () => {
  it('had written one event per record, each reaching the receiver once before the kill', async () => {
    expect(run.exit.signal).toBe('SIGKILL');
    expect(run.beforeStop.length).toBe(RECORDS);
    expect(new Set(run.beforeStop).size).toBe(RECORDS);
    expect((await run.outbox()).map((event) => event.id).sort()).toEqual([...run.beforeStop].sort());
  });

  it('loses no event: the next process delivers every one again, with the same webhook-id', () => {
    expect([...run.afterRestart].sort()).toEqual([...run.beforeStop].sort());
  });

  it('records the delivery that succeeded; the attempt cut off by the kill counts, unrecorded', async () => {
    for (const event of await run.outbox()) expect(event).toMatchObject({ status: 'delivered', attempts: 2 });
    const attempts = await runSql<{ event_id: string; attempt: number; status: string }>(
      run.databaseUrl,
      'select d."event_id", d."attempt", d."status" from "webhook_delivery" d join "webhook_event" e on e."id" = d."event_id" where e."endpoint_id" = $1 order by d."event_id"',
      [run.endpointId],
    );
    expect(attempts.map(({ attempt, status }) => ({ attempt, status }))).toEqual(Array.from({ length: RECORDS }, () => ({ attempt: 2, status: 'succeeded' })));
  });
});
