// The signal between the writes that queue webhook messages (the query layer) and this process's
// delivery workers, kept apart so that the query layer does not import the worker.

/** The workers of this process, woken by the writes that queue messages (an ingest, a delete, a replay, an endpoint enabled again). */
const awake = new Set<() => void>();

/**
 * Wakes this process's workers now and once more a second later: the write that calls it may commit
 * after it returns (inside an idempotent request's transaction).
 */
export function wakeWebhookWorkers(): void {
  for (const wake of awake) wake();
  setTimeout(() => {
    for (const wake of awake) wake();
  }, 1_000).unref();
}

/** Calls `wake` after every write that queued messages, until the returned function is called. */
export function onOutboxWrite(wake: () => void): () => void {
  awake.add(wake);
  return () => {
    awake.delete(wake);
  };
}
