import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { StringifiedJson } from './store-safe-text.js';

/**
 * Rows of a multi-row statement passed as ONE JSON parameter (`jsonb_to_recordset`), instead of one
 * parameter per value (a VALUES list: 2,000 rows × 19 columns is 38,000 parameters) or one array parameter
 * per column (`unnest($1::text[], …)`). On the set-based pipeline, the per-value encoding of the parameters
 * (in the driver, and in PGlite's wire protocol in JavaScript) and the server's parsing of that many
 * parameters or array elements were most of the cost of the writes; one JSON text is built by the native
 * `JSON.stringify` and parsed once by the server (docs/benchmarks.md, `## pipeline`, 2026-12-07).
 *
 * A row's values go in as JSON: numbers, strings, booleans, null, Dates as ISO 8601 (how `JSON.stringify`
 * writes them, read back exactly by `timestamptz`), and a `jsonb` column's value as the JSON value itself
 * (not a string holding it). Text the store refuses (NUL, unpaired surrogates) is replaced by the store's
 * sanitiser, which rewrites such escapes in a JSON parameter (store-safe-text.ts), as it did per value.
 */

/** The SQL type a column is read as from the JSON rows. */
export type JsonRowType = 'integer' | 'bigint' | 'text' | 'jsonb' | 'timestamptz' | 'inet';

/** Columns, in order, with their types. */
export type JsonRowColumns<C extends string> = Readonly<Record<C, JsonRowType>>;

/** A row: a value for each column (`undefined` is written as null). */
export type JsonRow<C extends string> = { readonly [K in C]: unknown };

/** `jsonb_to_recordset(<rows as one JSON parameter>) as <alias>(<column> <type>, …)`, for a FROM clause. */
export function jsonRowsSource<C extends string>(
  alias: string,
  columns: JsonRowColumns<C>,
  rows: ReadonlyArray<JsonRow<C>>,
): RawBuilder<unknown> {
  return jsonTextRowsSource(alias, columns, JSON.stringify(rows));
}

/**
 * `jsonRowsSource` for rows already serialised: `json` is a JSON array of row objects, made by
 * `JSON.stringify` (or joined from its output), which writes no NUL and no lone surrogate half, only their
 * escapes (`StringifiedJson`: the store's sanitiser then looks for the escapes alone).
 */
export function jsonTextRowsSource<C extends string>(
  alias: string,
  columns: JsonRowColumns<C>,
  json: string,
): RawBuilder<unknown> {
  const definitions = Object.entries<JsonRowType>(columns).map(
    ([name, type]) => sql`${sql.ref(name)} ${sql.raw(type)}`,
  );
  return sql`jsonb_to_recordset(${new StringifiedJson(json)}::jsonb) as ${sql.table(alias)}(${sql.join(definitions)})`;
}

/** Rows in one multi-row statement at most: bounds its JSON parameter (and PGlite's memory, which grows to
 * the largest statement it has run and stays there). */
export const ROWS_PER_STATEMENT = 2_000;

/**
 * Inserts `rows` into `table`, in statements of at most ROWS_PER_STATEMENT rows issued back to back
 * (`settleInOrder`). `overridingIds`: the rows carry ids taken with `reserveIds` (store/reserve-ids.ts),
 * which a `GENERATED ALWAYS` identity column takes only with `OVERRIDING SYSTEM VALUE`.
 */
export async function insertJsonRows<C extends string>(
  trx: Transaction<Database>,
  table: keyof Database & string,
  columns: JsonRowColumns<C>,
  rows: ReadonlyArray<JsonRow<C>>,
  options: { readonly overridingIds?: boolean } = {},
): Promise<void> {
  const names = Object.keys(columns).map((name) => sql.ref(name));
  await settleInOrder(
    slices(rows, ROWS_PER_STATEMENT).map((part) =>
      sql`insert into ${sql.table(table)} (${sql.join(names)})
        ${options.overridingIds ? sql`overriding system value` : sql``}
        select ${sql.join(names)} from ${jsonRowsSource('r', columns, part)}`.execute(trx),
    ),
  );
}

/**
 * Waits for statements issued back to back on one transaction (each started without waiting for the one
 * before: kysely runs a transaction's queries one at a time, in the order they were issued). Resolves once
 * all have run; if any failed, rejects with the first failure in issue order — only after every statement
 * has settled, so none still queued behind it runs after the caller has rolled the transaction back.
 */
export async function settleInOrder(statements: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(statements);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** `rows` in slices of `size`: one multi-row statement each. */
export function slices<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}
