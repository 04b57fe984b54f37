import { Migration } from '@mikro-orm/migrations';

export class Migration20261122030754_initial extends Migration {

  override name = 'Migration20261122030754_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "organization" ("id" bigserial primary key, "name" varchar(255) not null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "organization" add constraint "organization_name_unique" unique ("name");`);

    this.addSql(`create table "feedback_source" ("id" bigserial primary key, "organization_id" bigint not null, "name" varchar(255) not null, "type" varchar(64) not null, "description" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`alter table "feedback_source" add constraint "feedback_source_organization_name_unique" unique ("organization_id", "name");`);

    this.addSql(`create table "company" ("id" bigserial primary key, "organization_id" bigint not null, "name" varchar(255) not null, "domain" varchar(253) null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`alter table "company" add constraint "company_organization_domain_unique" unique ("organization_id", "domain");`);
    this.addSql(`create unique index "company_organization_name_without_domain_unique" on "company" ("organization_id", "name") where "domain" is null;`);

    this.addSql(`create table "api_key" ("id" bigserial primary key, "organization_id" bigint not null, "token_hash" varchar(64) not null, "scopes" text[] not null, "expires_at" timestamptz null, "revoked_at" timestamptz null, "created_at" timestamptz not null);`);
    this.addSql(`alter table "api_key" add constraint "api_key_token_hash_unique" unique ("token_hash");`);

    this.addSql(`create table "person" ("id" bigserial primary key, "organization_id" bigint not null, "email" varchar(320) null, "external_id" varchar(255) null, "first_name" varchar(255) null, "last_name" varchar(255) null, "phone" varchar(16) null, "boundary" varchar(16) not null default 'external', "company_id" bigint null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`);
    this.addSql(`alter table "person" add constraint "person_organization_external_id_unique" unique ("organization_id", "external_id");`);
    this.addSql(`create unique index "person_organization_email_unique" on "person" ("organization_id", lower("email"));`);

    this.addSql(`create table "feedback_record" ("id" bigserial primary key, "organization_id" bigint not null, "source_id" bigint not null, "person_id" bigint null, "external_id" varchar(255) null, "display_ts" timestamptz not null, "fields" jsonb not null, "created_at" timestamptz not null);`);
    this.addSql(`create index "feedback_record_source_display_ts_index" on "feedback_record" ("source_id", "display_ts", "id");`);
    this.addSql(`create index "feedback_record_person_display_ts_index" on "feedback_record" ("person_id", "display_ts", "id");`);
    this.addSql(`create index "feedback_record_organization_display_ts_index" on "feedback_record" ("organization_id", "display_ts", "id");`);
    this.addSql(`alter table "feedback_record" add constraint "feedback_record_source_external_id_unique" unique ("organization_id", "source_id", "external_id");`);

    this.addSql(`alter table "feedback_source" add constraint "feedback_source_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);

    this.addSql(`alter table "company" add constraint "company_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);

    this.addSql(`alter table "api_key" add constraint "api_key_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);

    this.addSql(`alter table "person" add constraint "person_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);
    this.addSql(`alter table "person" add constraint "person_company_id_foreign" foreign key ("company_id") references "company" ("id") on delete set null;`);

    this.addSql(`alter table "feedback_record" add constraint "feedback_record_organization_id_foreign" foreign key ("organization_id") references "organization" ("id") on delete cascade;`);
    this.addSql(`alter table "feedback_record" add constraint "feedback_record_source_id_foreign" foreign key ("source_id") references "feedback_source" ("id") on delete no action;`);
    this.addSql(`alter table "feedback_record" add constraint "feedback_record_person_id_foreign" foreign key ("person_id") references "person" ("id") on delete set null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "feedback_source" drop constraint "feedback_source_organization_id_foreign";`);
    this.addSql(`alter table "company" drop constraint "company_organization_id_foreign";`);
    this.addSql(`alter table "api_key" drop constraint "api_key_organization_id_foreign";`);
    this.addSql(`alter table "person" drop constraint "person_organization_id_foreign";`);
    this.addSql(`alter table "feedback_record" drop constraint "feedback_record_organization_id_foreign";`);
    this.addSql(`alter table "feedback_record" drop constraint "feedback_record_source_id_foreign";`);
    this.addSql(`alter table "person" drop constraint "person_company_id_foreign";`);
    this.addSql(`alter table "feedback_record" drop constraint "feedback_record_person_id_foreign";`);

    this.addSql(`drop table if exists "organization" cascade;`);
    this.addSql(`drop table if exists "feedback_source" cascade;`);
    this.addSql(`drop table if exists "company" cascade;`);
    this.addSql(`drop table if exists "api_key" cascade;`);
    this.addSql(`drop table if exists "person" cascade;`);
    this.addSql(`drop table if exists "feedback_record" cascade;`);
  }

}
