/**
 * `npm run keys -- create|list|revoke`: manages API tokens against DATABASE_URL, or else the
 * embedded database in DATA_DIR (reusing the server's PostgreSQL when it is running).
 */
import { parseArgs } from 'node:util';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ConfigError, loadConfig } from '../config.ts';
import { DatabaseStartError, openDatabase } from '../database/open.ts';
import { ApiKey } from './api-key.entity.ts';
import { isScope, type Scope, scopes as allScopes } from './scopes.ts';
import { createApiKey, revokeApiKey } from './tokens.ts';

const USAGE = `Usage:
  npm run keys -- create --org <name> [--scopes <comma list>] [--expires-in <30d|12h|45m>] [--json]
  npm run keys -- list [--org <name>] [--json]
  npm run keys -- revoke <id>

Scopes: ${allScopes.join(' ')} (default: all)`;

export class UsageError extends Error {}

const DURATION = /^([1-9]\d*)([smhdw])$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

export function parseDuration(text: string): number {
  const match = DURATION.exec(text);
  if (!match) throw new UsageError(`--expires-in must look like 30d, 12h, 45m, 2w or 90s; got "${text}".`);
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] * 1000;
}

export function parseScopes(text: string | undefined): Scope[] {
  if (text === undefined) return [...allScopes];
  const list = text.split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = list.filter((scope) => !isScope(scope));
  if (list.length === 0 || unknown.length > 0) throw new UsageError(`Unknown scope ${unknown.join(', ') || '(none given)'}; choose from ${allScopes.join(', ')}.`);
  return [...new Set(list)] as Scope[];
}

function keyView(key: ApiKey) {
  return {
    id: key.id,
    organization: { id: key.organization.id, name: key.organization.name },
    scopes: key.scopes,
    expires_at: key.expiresAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    created_at: key.createdAt.toISOString(),
  };
}

type Command =
  | { name: 'create'; org: string; scopes: Scope[]; expiresAt: Date | null; json: boolean }
  | { name: 'list'; org: string | undefined; json: boolean }
  | { name: 'revoke'; id: number };

/** Everything about the arguments is checked here, before any database is opened. */
export function parseCommand(argv: string[]): Command {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { org: { type: 'string' }, scopes: { type: 'string' }, 'expires-in': { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const [command, ...rest] = positionals;
  switch (command) {
    case 'create': {
      const org = values.org?.trim();
      if (!org || org.length > 255) throw new UsageError('create needs --org <name> (1 to 255 characters).');
      const expiresAt = values['expires-in'] ? new Date(Date.now() + parseDuration(values['expires-in'])) : null;
      return { name: 'create', org, scopes: parseScopes(values.scopes), expiresAt, json: values.json };
    }
    case 'list':
      return { name: 'list', org: values.org, json: values.json };
    case 'revoke': {
      const id = Number(rest[0]);
      if (!Number.isSafeInteger(id) || id < 1) throw new UsageError('revoke needs the numeric id of a key (see npm run keys -- list).');
      return { name: 'revoke', id };
    }
    default:
      throw new UsageError(command ? `Unknown command "${command}".\n${USAGE}` : USAGE);
  }
}

async function run(em: EntityManager, command: Command, out: (line: string) => void): Promise<void> {
  switch (command.name) {
    case 'create': {
      const { key, organization, token } = await createApiKey(em, command.org, command.scopes, command.expiresAt);
      const result = { id: key.id, token, organization: { id: organization.id, name: organization.name }, scopes: key.scopes, expires_at: key.expiresAt?.toISOString() ?? null };
      if (command.json) {
        out(JSON.stringify(result));
      } else {
        out(`Created API key ${key.id} for organization "${organization.name}" (scopes: ${key.scopes.join(' ')}; expires: ${result.expires_at ?? 'never'}).`);
        out('The token is shown only once; store it now:');
        out(`  ${token}`);
      }
      return;
    }
    case 'list': {
      const keys = await em.find(ApiKey, command.org ? { organization: { name: command.org } } : {}, { populate: ['organization'], orderBy: { id: 'asc' } });
      if (command.json) {
        out(JSON.stringify(keys.map(keyView)));
        return;
      }
      if (keys.length === 0) out('No API keys.');
      for (const key of keys) {
        const view = keyView(key);
        const state = view.revoked_at ? `revoked ${view.revoked_at}` : view.expires_at ? `expires ${view.expires_at}` : 'active';
        out(`${view.id}\t${view.organization.name}\t${view.scopes.join(',')}\t${state}`);
      }
      return;
    }
    case 'revoke': {
      // Running servers stop accepting the token within a second (they hear the revocation).
      if (!(await revokeApiKey(em, command.id))) throw new UsageError(`No API key with id ${command.id}.`);
      out(`Revoked API key ${command.id}.`);
      return;
    }
  }
}

try {
  const command = parseCommand(process.argv.slice(2));
  const config = loadConfig();
  const database = await openDatabase(config).catch((error: unknown) => {
    throw new DatabaseStartError(error);
  });
  try {
    await run(database.orm.em.fork(), command, (line) => console.log(line));
  } finally {
    await database.close();
  }
} catch (error) {
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof DatabaseStartError || (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
