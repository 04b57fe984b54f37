import { Migration } from '@mikro-orm/migrations';

export class Migration20261203135649_record_search_index extends Migration {

  override name = 'Migration20261203135649_record_search_index';

  override up(): void | Promise<void> {
    this.addSql(`create index "feedback_record_search_index" on "feedback_record" using gin ((jsonb_to_tsvector('english'::regconfig, jsonb_path_query_array("fields", '\$[*] ? (@.category == "content" && @.type == "string").value'), '["string"]')));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "feedback_record_search_index";`);
  }

}
