import { Migration } from '@mikro-orm/migrations';

export class Migration20261203132117_record_filter_indexes extends Migration {

  override name = 'Migration20261203132117_record_filter_indexes';

  override up(): void | Promise<void> {
    this.addSql(`create index "person_company_index" on "person" ("company_id");`);

    this.addSql(`create index "feedback_record_fields_index" on "feedback_record" using gin ("fields" jsonb_path_ops);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "feedback_record_fields_index";`);

    this.addSql(`drop index "person_company_index";`);
  }

}
