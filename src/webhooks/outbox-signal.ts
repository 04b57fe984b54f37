import { AsyncLocalStorage } from 'node:async_hooks';

// The signal between the writes that queue webhook messages (the query layer) and this process's
// delivery workers, kept apart so that the query layer does not import the worker. A worker woken
// before the write commits finds nothing and sleeps until its idle poll, so a statement only notes
// that it queued messages, and the code that commits the write (wakeAfterCommit) wakes the workers.

/** The workers of this process. */
const awake = new Set<() => void>();

/** Whether the write running in this async context queued messages, once it commits. */
const running = new AsyncLocalStorage<{ queued: boolean }>();

function wakeWorkers(): void {
  for (const wake of awake) wake();
}

/**
 * Called by a statement that queued messages or made some due (a replay, an endpoint enabled again).
 * Outside a write run by wakeAfterCommit (a script's statement, committed by itself) it wakes the
 * workers at once.
 */
export function noteQueuedMessages(): void {
  const write = running.getStore();
  if (write) write.queued = true;
  else wakeWorkers();
}

/**
 * Runs a write that has committed once `commit` resolves (an operation's own transaction, a
 * single statement, an idempotent request's transaction), then wakes the workers when it queued
 * messages. A write that throws was rolled back and wakes none.
 */
export async function wakeAfterCommit<T>(commit: () => Promise<T>): Promise<T> {
  const write = { queued: false };
  const result = await running.run(write, commit);
  if (write.queued) wakeWorkers();
  return result;
}

/** Calls `wake` after every committed write that queued messages, until the returned function is called. */
export function onOutboxWrite(wake: () => void): () => void {
  awake.add(wake);
  return () => {
    awake.delete(wake);
  };
}
