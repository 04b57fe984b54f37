import type { OperationDefinitionNode } from 'graphql';
import type { Viewer } from '../organizations/viewer.ts';
import { lookUpWebhookHosts, type WebhookHosts } from '../webhooks/webhook-hosts.ts';

/**
 * What an operation needs resolved before the transaction it runs in opens: anything slow to answer
 * (a DNS lookup) is awaited here, so that no transaction, lock or connection waits for it.
 */
export interface Ahead {
  /** The addresses of the webhook URL hosts it sends; a host missing here is looked up when its URL is checked. */
  webhookHosts?: WebhookHosts | undefined;
}

/** Resolves what `operation`, run by `viewer` with `variables`, needs before its transaction opens. */
export async function lookAhead(viewer: Viewer, operation: OperationDefinitionNode | null | undefined, variables: unknown): Promise<Ahead> {
  return { webhookHosts: await lookUpWebhookHosts(viewer, operation, variables) };
}
