import type { LoggerOptions } from 'pino';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { type Database, DatabaseStartError, openDatabase } from './database/open.ts';
import type { CreatedKey } from './organizations/tokens.ts';

/** The configuration, or one line naming the invalid variable and exit code 1. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/** The migrated database (started when embedded), or one line saying why not and exit code 1. */
export async function openDatabaseOrExit(config: Config): Promise<Database> {
  return await openDatabase(config).catch((error: unknown) => {
    console.error(new DatabaseStartError(error).message);
    process.exit(1);
  });
}

/** JSON lines for log collectors; readable lines when a person watches the terminal. */
export function loggerOptions(config: Config): LoggerOptions {
  return process.stdout.isTTY
    ? { level: config.logLevel, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } }
    : { level: config.logLevel };
}

/** What a person starting the server needs: where it runs and, on the very first start, the token. */
export function printBanner(config: Config, database: Pick<Database, 'description'>, port: number, firstKey: CreatedKey | null): void {
  const base = `http://localhost:${port}`;
  const workers = config.workers > 1 ? ` with ${config.workers} workers` : '';
  console.log(`\nFeedback gateway is running on ${base}${workers} (database: ${database.description})`);
  console.log(`  GraphiQL:           ${base}/graphql`);
  console.log(`  REST playground:    ${base}/docs`);
  console.log(`  Postman collection: ${base}/v3/rest/postman.json`);
  console.log(`  Error codes:        ${config.publicUrl}/docs/errors`);
  console.log(`  Status:             ${base}/status`);
  if (firstKey) {
    console.log(`\nFirst start: created organization "${firstKey.organization.name}" and an API token with every scope.`);
    console.log('It is shown only this once; send it in the x-api-token header (paste it into GraphiQL\'s Headers tab):\n');
    console.log(`  ${firstKey.token}\n`);
  }
}
