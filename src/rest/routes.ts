import { personRoutes } from '../people/person.rest.ts';
import { recordQueryRoutes } from '../records/record-query.rest.ts';
import { recordRoutes } from '../records/record.rest.ts';
import { sourceRoutes } from '../sources/source.rest.ts';
import { webhookRoutes } from '../webhooks/webhook.rest.ts';
import type { RestRoute } from './route.ts';

/** Every REST endpoint: the server mounts these and the OpenAPI document describes these. */
export const restRoutes: readonly RestRoute[] = [...sourceRoutes, ...personRoutes, ...recordRoutes, ...recordQueryRoutes, ...webhookRoutes];
