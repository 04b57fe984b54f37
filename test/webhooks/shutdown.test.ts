import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InterruptedDelivery, interruptDeliveries } from './interrupted-delivery.ts';

// Issue 12 item 6: a gateway stopped with SIGTERM in the middle of deliveries hands them back to the
// outbox (no lease left to wait for, the cut-off attempt not counted) and the next process delivers
// them with the webhook-id they had.

const RECORDS = 3;
let run: InterruptedDelivery;

beforeAll(async () => {
  run = await interruptDeliveries('SIGTERM', RECORDS);
}, 90_000);

afterAll(() => run?.close());

describe('a gateway stopped with SIGTERM while delivering', () => {
  it('exits cleanly', () => {
    expect(run.exit.code).toBe(0);
  });

  it('hands every unfinished delivery back to the outbox: pending, unleased, the attempt not counted', () => {
    expect(run.leftBehind.map(({ status, attempts, locked_until }) => ({ status, attempts, locked_until }))).toEqual(
      Array.from({ length: RECORDS }, () => ({ status: 'pending', attempts: 0, locked_until: null })),
    );
  });

  it('loses no event: the next process delivers every one, with the same webhook-id, as its first recorded attempt', async () => {
    expect([...run.afterRestart].sort()).toEqual([...run.beforeStop].sort());
    for (const event of await run.outbox()) expect(event).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
