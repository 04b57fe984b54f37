import { Migration } from '@mikro-orm/migrations';

export class Migration20261122033415_idempotency_keys extends Migration {

  override name = 'Migration20261122033415_idempotency_keys';

  override up(): void | Promise<void> {
    this.addSql(`create table "idempotency_key" ("id" bigserial primary key, "organization_id" bigint not null, "key" varchar(255) not null, "method" varchar(10) not null, "path" text not null, "request_hash" varchar(64) not null, "status" smallint not null, "content_type" varchar(255) not null, "response_body" text not null, "created_at" timestamptz not null, "expires_at" timestamptz not null);`);
    this.addSql(`create index "idempotency_key_expires_at_index" on "idempotency_key" ("expires_at");`);
    this.addSql(`alter table "idempotency_key" add constraint "idempotency_key_organization_key_unique" unique ("organization_id", "key");`);

    this.addSql(`alter table "idempotency_key" add constraint "idempotency_key_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "idempotency_key" cascade;`);
  }

}
