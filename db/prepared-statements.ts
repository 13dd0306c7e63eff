import { CompiledQuery, type PostgresPool, type PostgresPoolClient } from 'kysely';

/**
 * Named prepared statements for the few hot queries that need them (the citizen lookup): PostgreSQL
 * parses and plans such a statement once per connection instead of on every call. The lookup's
 * statement (five joins, a lateral subquery) took 0.6–1.4 ms to plan and 0.1–0.2 ms to run.
 *
 * A repository declares its SQL text once with `preparedStatement(name, text)` and runs the query the
 * function returns; the pool wrapper below (installed by db/database.ts) sends every query whose text is
 * a declared one as a named statement (pg parses it once per connection and reuses it). Everything else
 * goes as before. The text must be fixed (parameters as $n), so a statement is one plan for all callers.
 *
 * Not used on the embedded PostgreSQL (PGlite): its socket connections share one session, so a second
 * connection preparing the same name would fail; openDatabase turns the wrapper off there.
 *
 * A migration that changes a table a prepared statement reads makes PostgreSQL refuse the cached plan
 * ("cached plan must not change result type") on connections opened before it: restart the API after
 * migrating, as a deploy does.
 */

const byText = new Map<string, string>();
const byName = new Map<string, string>();

/** Declares `text` as the named statement `name`; returns a function making the query with parameters. */
export function preparedStatement(
  name: string,
  text: string,
): (parameters: readonly unknown[]) => CompiledQuery {
  if (!/^pn_[a-z0-9_]+$/.test(name)) throw new Error(`prepared statement name ${name}: pn_ and [a-z0-9_]`);
  const known = byName.get(name);
  if (known !== undefined && known !== text)
    throw new Error(`prepared statement ${name} is already declared with another text`);
  byName.set(name, text);
  byText.set(text, name);
  return (parameters) => CompiledQuery.raw(text, [...parameters]);
}

/** The name a statement text was declared under, if any. */
export function preparedStatementName(text: string): string | undefined {
  return byText.get(text);
}

type Query = PostgresPoolClient['query'];

/**
 * A pool for Kysely's PostgresDialect that sends declared statements as named ones. Each pooled client is
 * wrapped once (the same wrapper every time, so Kysely keeps one connection object per client).
 */
export function withPreparedStatements(pool: PostgresPool): PostgresPool {
  const wrapped = new WeakMap<PostgresPoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrapped.get(client);
      if (!w) {
        const query = ((sqlOrCursor: unknown, parameters?: readonly unknown[]) => {
          const name = typeof sqlOrCursor === 'string' ? byText.get(sqlOrCursor) : undefined;
          if (name === undefined)
            return (client.query as (...a: unknown[]) => unknown)(sqlOrCursor, parameters);
          // pg's query config: a name makes it parse once per connection and reuse the statement.
          return (client.query as (config: object) => unknown)({
            name,
            text: sqlOrCursor,
            values: parameters ? [...parameters] : [],
          });
        }) as Query;
        w = { query, release: () => client.release() };
        wrapped.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}
