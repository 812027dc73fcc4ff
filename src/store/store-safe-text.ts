import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';

/**
 * The one sanitiser for text going to the store. PostgreSQL `text` refuses NUL (U+0000), and `jsonb`
 * refuses the `\u0000` escape and escapes of unpaired surrogates; a complaint carrying them must still be
 * stored, so every string parameter of every query is made storable here, whichever module wrote the
 * query. Each refused character becomes U+FFFD (the replacement character). The raw bytes are not lost:
 * the evidence store keeps what was received, byte for byte.
 *
 * It wraps the dialect (PGlite or node-postgres) rather than living in each repository, so a new query
 * cannot forget it.
 */

export const REPLACEMENT = '\ufffd';

// A NUL, or a surrogate half without its partner (a lone high not followed by a low, a lone low not
// preceded by a high).
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this looks for.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// In JSON text: a `\u0000` escape or a surrogate escape, preceded by an even number of backslashes (an
// odd number means the backslash itself was escaped and this is literal text). Paired surrogate escapes
// are shielded before this runs.
const JSON_UNSTORABLE_ESCAPE = /(?<=(?:^|[^\\])(?:\\\\)*)\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})/g;

/**
 * True when `text` holds a character PostgreSQL text refuses: a lone surrogate half (exactly what
 * `isWellFormed` looks for) or a NUL. Both are native scans. The pipeline's parameters are megabytes of JSON,
 * mostly ASCII: V8 keeps such a string one byte a character, which can hold no surrogate, and answers
 * `isWellFormed` for it without reading it; a regular expression scanning for either character took 2 % of
 * the main thread on a feed report (on a two-byte string the two scans cost about what the expression did).
 */
export function hasUnstorableText(text: string): boolean {
  return !text.isWellFormed() || text.includes('\u0000');
}

/** `text` with every character PostgreSQL text refuses replaced by U+FFFD. */
export function storableText(text: string): string {
  return hasUnstorableText(text) ? text.replace(UNSTORABLE, REPLACEMENT) : text;
}

/**
 * A parameter that is the text `JSON.stringify` made (store/json-rows.ts passes a statement's rows as one):
 * such text holds no NUL and no lone surrogate half — `JSON.stringify` writes both as `\u` escapes — so only
 * the escapes `jsonb` refuses are looked for. Megabytes a statement on a feed report, often two bytes a
 * character (one typographic dash in a reason is enough), where scanning for the characters cost as much
 * as the escapes' check. The sanitiser hands the driver the text, never this wrapper.
 */
export class StringifiedJson {
  constructor(readonly text: string) {}
}

/**
 * A query parameter made storable. Strings that are JSON documents (how repositories pass `jsonb`) also
 * have the escapes `jsonb` refuses rewritten; other strings keep a literal `\u0000` as typed.
 */
export function storableParameter(value: unknown): unknown {
  if (value instanceof StringifiedJson) return storableJsonEscapes(value.text);
  // Arrays too: multi-row writes pass a column's values as one array parameter (`unnest($1::jsonb[])`).
  if (Array.isArray(value))
    return value.some((v) => typeof v === 'string' || Array.isArray(v))
      ? value.map(storableParameter)
      : value;
  if (typeof value !== 'string') return value;
  return storableJsonEscapes(storableText(value));
}

/** `text` with the escapes `jsonb` refuses (`\u0000`, lone surrogate halves) rewritten, if it is a JSON document. */
function storableJsonEscapes(text: string): string {
  if (!text.includes('\\u')) return text;
  JSON_UNSTORABLE_ESCAPE.lastIndex = 0;
  if (!JSON_UNSTORABLE_ESCAPE.test(text) || !isJsonDocument(text)) return text;
  // A high surrogate escape followed by a low one is a valid pair: shield pairs, replace what is left.
  const pairs: string[] = [];
  const shielded = text.replace(/\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}/g, (pair) => {
    pairs.push(pair);
    return `\u0001${pairs.length - 1}\u0001`;
  });
  return (
    shielded
      .replace(JSON_UNSTORABLE_ESCAPE, '\\ufffd')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0001 marks a shielded pair (JSON text has no raw control characters).
      .replace(/\u0001(\d+)\u0001/g, (_, i: string) => pairs[Number(i)] ?? '')
  );
}

function isJsonDocument(text: string): boolean {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[' && first !== '"') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function storableQuery<R>(query: CompiledQuery<R>): CompiledQuery<R> {
  let changed = false;
  const parameters = query.parameters.map((p) => {
    const safe = storableParameter(p);
    if (safe !== p) changed = true;
    return safe;
  });
  return changed ? { ...query, parameters } : query;
}

class StorableTextConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(storableQuery(query));
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(storableQuery(query), chunkSize);
  }
}

class StorableTextDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, StorableTextConnection>();
  constructor(private readonly inner: Driver) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    let wrapper = this.wrapped.get(connection);
    if (!wrapper) {
      wrapper = new StorableTextConnection(connection);
      this.wrapped.set(connection, wrapper);
    }
    return wrapper;
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(this.unwrap(connection), settings);
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(this.unwrap(connection));
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(this.unwrap(connection));
  }
  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(this.unwrap(connection));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
  private unwrap(connection: DatabaseConnection): DatabaseConnection {
    return connection instanceof StorableTextConnection ? connection.inner : connection;
  }
}

/** `dialect` with every string parameter made storable (see the file comment). */
export class StorableTextDialect implements Dialect {
  constructor(private readonly inner: Dialect) {}
  createDriver(): Driver {
    return new StorableTextDriver(this.inner.createDriver());
  }
  createQueryCompiler(): QueryCompiler {
    return this.inner.createQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return this.inner.createAdapter();
  }
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own Dialect signature takes Kysely<any>.
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return this.inner.createIntrospector(db);
  }
}
