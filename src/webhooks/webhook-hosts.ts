import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Kind, type OperationDefinitionNode, type ValueNode } from 'graphql';
import type { Viewer } from '../organizations/viewer.ts';

/** The addresses of webhook URL hosts, looked up ahead of a request's transaction; null: the host does not resolve. */
export type WebhookHosts = ReadonlyMap<string, string[] | null>;

/** The host a webhook URL connects to, as a lookup takes it (an IPv6 literal without its brackets). */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** How long a host's lookup may take before the host counts as not resolving. */
const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Every address `host` resolves to (an address resolves to itself); null when it does not resolve
 * within `timeoutMs`. A lookup cannot be cancelled, only no longer waited for: its late answer is dropped.
 */
export async function addressesOf(host: string, timeoutMs = LOOKUP_TIMEOUT_MS): Promise<string[] | null> {
  if (isIP(host)) return [host];
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, null);
  });
  try {
    return await Promise.race([lookup(host, { all: true, verbatim: true }).then((entries) => entries.map((entry) => entry.address)), timedOut]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** The mutations whose `input.url` is a webhook URL to check. */
const URL_MUTATIONS = new Set(['createWebhookEndpoint', 'updateWebhookEndpoint']);
/** Hosts looked up ahead per request, so that a document of many aliased mutations starts no flood of lookups before its limits are checked. */
const MAX_HOSTS_AHEAD = 10;

function member(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? new Map(Object.entries(value)).get(name) : undefined;
}

function literalOrVariable(node: ValueNode | undefined, variables: unknown): unknown {
  if (node?.kind === Kind.VARIABLE) return member(variables, node.name.value);
  if (node?.kind === Kind.STRING) return node.value;
  return undefined;
}

function inputUrl(node: ValueNode | undefined, variables: unknown): unknown {
  if (node?.kind === Kind.OBJECT) return literalOrVariable(node.fields.find((field) => field.name.value === 'url')?.value, variables);
  return member(literalOrVariable(node, variables), 'url');
}

/**
 * Looks up the hosts of the webhook URLs a mutation document sends (the `input.url` of its root
 * createWebhookEndpoint and updateWebhookEndpoint fields, inline or in variables), for a request whose
 * transaction opens before its operation runs: its write then waits for no DNS answer inside that
 * transaction. A URL not found here (behind a fragment, or past MAX_HOSTS_AHEAD) is looked up when
 * it is checked. A token that may not manage webhooks has nothing looked up: its mutations are
 * refused before any check.
 */
export async function lookUpWebhookHosts(viewer: Viewer, operation: OperationDefinitionNode | null | undefined, variables: unknown): Promise<WebhookHosts | undefined> {
  const hosts = new Set<string>();
  const mutation = operation?.operation === 'mutation' && viewer.scopes.includes('webhooks:write');
  for (const selection of mutation ? operation.selectionSet.selections : []) {
    if (hosts.size === MAX_HOSTS_AHEAD) break;
    if (selection.kind !== Kind.FIELD || !URL_MUTATIONS.has(selection.name.value)) continue;
    const url = inputUrl(selection.arguments?.find((argument) => argument.name.value === 'input')?.value, variables);
    if (typeof url === 'string' && URL.canParse(url)) hosts.add(hostOf(new URL(url)));
  }
  if (hosts.size === 0) return undefined;
  return new Map(await Promise.all([...hosts].map(async (host) => [host, await addressesOf(host)] as const)));
}
