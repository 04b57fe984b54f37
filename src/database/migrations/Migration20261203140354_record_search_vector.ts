import { Migration } from '@mikro-orm/migrations';

export class Migration20261203140354_record_search_vector extends Migration {

  override name = 'Migration20261203140354_record_search_vector';

  override up(): void | Promise<void> {
    this.addSql(`drop index "feedback_record_search_index";`);
    this.addSql(`alter table "feedback_record" add "search_vector" tsvector generated always as (jsonb_to_tsvector('english'::regconfig, jsonb_path_query_array("fields", '\$[*] ? (@.category == "content" && @.type == "string").value'), '["string"]')) stored not null;`);
    this.addSql(`create index "feedback_record_search_vector_index" on "feedback_record" using gin ("search_vector");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "feedback_record_search_vector_index";`);
    this.addSql(`alter table "feedback_record" drop column "search_vector";`);
    this.addSql(`create index "feedback_record_search_index" on "feedback_record" using gin ((jsonb_to_tsvector('english'::regconfig, jsonb_path_query_array("fields", '\$[*] ? (@.category == "content" && @.type == "string").value'), '["string"]')));`);
  }

}
