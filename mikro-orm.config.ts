import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { boundedDriverOptions } from './src/database/timeouts.ts';
import { IdempotencyKeySchema } from './src/idempotency/idempotency-key.entity.ts';
import { ApiKeySchema } from './src/organizations/api-key.entity.ts';
import { OrganizationSchema } from './src/organizations/organization.entity.ts';
import { CompanySchema } from './src/people/company.entity.ts';
import { PersonSchema } from './src/people/person.entity.ts';
import { FeedbackRecordSchema } from './src/records/record.entity.ts';
import { FeedbackSourceSchema } from './src/sources/source.entity.ts';
import { WebhookDeliverySchema, WebhookEndpointSchema, WebhookEventSchema } from './src/webhooks/webhook.entity.ts';

/** Shared by the server, the keys CLI, the tests and the MikroORM CLI (`--config ./mikro-orm.config.ts`). */
export default defineConfig({
  clientUrl: process.env.DATABASE_URL,
  entities: [OrganizationSchema, ApiKeySchema, FeedbackSourceSchema, CompanySchema, PersonSchema, FeedbackRecordSchema, IdempotencyKeySchema, WebhookEndpointSchema, WebhookEventSchema, WebhookDeliverySchema],
  extensions: [Migrator],
  migrations: {
    path: './src/database/migrations',
    glob: '!(*.d).ts',
    emit: 'ts',
    snapshotName: '.snapshot',
    // The snapshot changes only when a migration is generated, never when tests migrate a database.
    snapshotOnMigrate: false,
    // stdout belongs to the program (the keys CLI prints exactly one JSON object with --json).
    silent: true,
  },
  // Entities are declared in code; discovery needs no reflection or metadata cache.
  metadataCache: { enabled: false },
  pool: { min: 0, max: 10 },
  // A database that is down or stops answering fails a request within seconds (DATABASE_UNAVAILABLE)
  // instead of holding it; migrate() lifts these bounds for its own connection.
  driverOptions: boundedDriverOptions,
});
