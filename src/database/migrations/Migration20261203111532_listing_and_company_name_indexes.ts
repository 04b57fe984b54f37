import { Migration } from '@mikro-orm/migrations';

export class Migration20261203111532_listing_and_company_name_indexes extends Migration {

  override name = 'Migration20261203111532_listing_and_company_name_indexes';

  override up(): void | Promise<void> {
    this.addSql(`create index "feedback_source_organization_id_index" on "feedback_source" ("organization_id", "id");`);

    this.addSql(`create index "company_organization_name_index" on "company" ("organization_id", "name");`);

    this.addSql(`create index "person_organization_id_index" on "person" ("organization_id", "id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "company_organization_name_index";`);

    this.addSql(`drop index "feedback_source_organization_id_index";`);

    this.addSql(`drop index "person_organization_id_index";`);
  }

}
