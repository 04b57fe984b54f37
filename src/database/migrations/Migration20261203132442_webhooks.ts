import { Migration } from '@mikro-orm/migrations';

export class Migration20261203132442_webhooks extends Migration {

  override name = 'Migration20261203132442_webhooks';

  override up(): void | Promise<void> {
    this.addSql(`create table "webhook_endpoint" ("id" bigserial primary key, "organization_id" bigint not null, "url" text not null, "event_types" text[] not null, "source_ids" bigint[] null, "secret" text not null, "enabled" boolean not null default true, "consecutive_failures" int not null default 0, "disabled_reason" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`create index "webhook_endpoint_organization_id_index" on "webhook_endpoint" ("organization_id", "id");`);

    this.addSql(`create table "webhook_event" ("id" varchar(40) not null, "organization_id" bigint not null, "endpoint_id" bigint not null, "type" varchar(64) not null, "payload" jsonb not null, "created_at" timestamptz not null, "status" varchar(16) not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz null, "locked_until" timestamptz null, "delivered_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "webhook_event_endpoint_id_index" on "webhook_event" ("endpoint_id", "created_at", "id");`);
    this.addSql(`create index "webhook_event_due_index" on "webhook_event" ("next_attempt_at") where "status" = 'pending';`);

    this.addSql(`create table "webhook_delivery" ("id" bigserial primary key, "organization_id" bigint not null, "event_id" varchar(40) not null, "attempt" int not null, "status" varchar(16) not null, "response_status" smallint null, "latency_ms" int not null, "error" text null, "created_at" timestamptz not null);`);
    this.addSql(`create index "webhook_delivery_event_id_index" on "webhook_delivery" ("event_id", "id");`);
    this.addSql(`create index "webhook_delivery_organization_id_index" on "webhook_delivery" ("organization_id", "id");`);

    this.addSql(`alter table "webhook_endpoint" add constraint "webhook_endpoint_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);

    this.addSql(`alter table "webhook_event" add constraint "webhook_event_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_event" add constraint "webhook_event_endpoint_id_foreign" foreign key ("endpoint_id") references "webhook_endpoint" ("id") on delete cascade;`);

    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);
    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_event_id_foreign" foreign key ("event_id") references "webhook_event" ("id") on delete cascade;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "webhook_event" drop constraint "webhook_event_endpoint_id_foreign";`);
    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_event_id_foreign";`);

    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);
    this.addSql(`drop table if exists "webhook_event" cascade;`);
    this.addSql(`drop table if exists "webhook_delivery" cascade;`);
  }

}
