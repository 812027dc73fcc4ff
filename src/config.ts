import path from 'node:path';
import { z } from 'zod';
import { AupError } from './errors.js';

/**
 * Process configuration, read from the environment (flags override it in the CLI). Parsed once with zod so
 * a bad value is reported by name instead of surfacing later as an odd failure.
 */
const envSchema = z.object({
  AUPDESK_DATA: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  AUPDESK_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a lower-case SQL identifier ([a-z_][a-z0-9_]*)')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  AUPDESK_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  AUPDESK_EVIDENCE_DIR: z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
});

export interface AppConfig {
  /** Directory for the embedded database, evidence blobs and other local state. */
  readonly dataDir: string;
  /** When set, a PostgreSQL server is used instead of embedded PGlite. */
  readonly databaseUrl: string | undefined;
  /**
   * PostgreSQL only: the schema aupdesk works in (created if missing), so several desks (or test runs) can
   * share one database. Default: the server's search_path (normally `public`).
   */
  readonly databaseSchema?: string | undefined;
  readonly logLevel: z.infer<typeof envSchema>['AUPDESK_LOG_LEVEL'];
  /**
   * Root of the content-addressed evidence store: `$AUPDESK_EVIDENCE_DIR`, else `<dataDir>/evidence`. In
   * production point it at its own durable volume (e.g. `/var/lib/aupdesk-evidence`), backed up apart from
   * the database.
   */
  readonly evidenceDir: string;
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<AppConfig> = {},
): AppConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `environment variable ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const dataDir = path.resolve(overrides.dataDir ?? parsed.data.AUPDESK_DATA);
  return {
    dataDir,
    evidenceDir: path.resolve(
      overrides.evidenceDir ?? parsed.data.AUPDESK_EVIDENCE_DIR ?? path.join(dataDir, 'evidence'),
    ),
    databaseUrl: overrides.databaseUrl ?? parsed.data.DATABASE_URL,
    databaseSchema: overrides.databaseSchema ?? parsed.data.AUPDESK_DB_SCHEMA,
    logLevel: overrides.logLevel ?? parsed.data.AUPDESK_LOG_LEVEL,
  };
}

const triageEnvSchema = z.object({
  AUPDESK_TRIAGE_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.6),
  AUPDESK_EVENT_FUTURE_TOLERANCE_S: z.coerce.number().int().min(0).max(86_400).default(600),
});

/** How the desk decides what goes to triage instead of a case (docs/api.md, the triage queue). */
export interface TriageSettings {
  /** A parser's classification below this confidence goes to triage with its best guess (default 0.6). */
  readonly confidenceThreshold: number;
  /**
   * An event dated more than this after its report was received is flagged and judged at the receipt
   * (default 10 minutes): a reporter's clock, or a forged date, never moves a deadline.
   */
  readonly futureToleranceMs: number;
}

export function triageSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TriageSettings {
  const settings = parseEnvSettings(triageEnvSchema, env);
  return {
    confidenceThreshold: settings.AUPDESK_TRIAGE_CONFIDENCE,
    futureToleranceMs: settings.AUPDESK_EVENT_FUTURE_TOLERANCE_S * 1000,
  };
}

const registryEnvSchema = z.object({
  AUPDESK_REGISTRY_REFRESH_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
});

/**
 * How often a desk process checks the registry's revision (one cheap query) and rebuilds its attribution
 * snapshot when another process changed assignments (default 5 s): the longest a complaint can be
 * attributed with a registry older than the latest import.
 */
export function registryRefreshMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnvSettings(registryEnvSchema, env).AUPDESK_REGISTRY_REFRESH_MS;
}

const inboxEnvSchema = z.object({
  AUPDESK_INBOX_LARGE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .default(1024 * 1024),
  AUPDESK_PIPELINE_SEGMENT_EVENTS: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  AUPDESK_INBOX_GROUP_MS: z.coerce.number().int().min(0).max(10_000).optional(),
});

/**
 * How long one inbox transaction goes on taking small rows (src/intake/inbox/inbox-group.ts), ms: the
 * rows of a burst share their transaction's cost; on the embedded store a mail being accepted waits up to
 * about this long for the store. 0: a transaction per row. Unset: the store's default (`inboxGroupMsFor`).
 */
export function inboxGroupMsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  return parseEnvSettings(inboxEnvSchema, env).AUPDESK_INBOX_GROUP_MS;
}

/**
 * Events per transaction of a report processed in segments (inbox-worker.ts `SegmentedProcessing`): what
 * a crash can cost (the segment under way is done again), how long the other lane may wait for the
 * embedded store, and how many events are held in memory. Default 10,000.
 */
export function segmentEventsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnvSettings(inboxEnvSchema, env).AUPDESK_PIPELINE_SEGMENT_EVENTS;
}

/**
 * From what size an inbox item is worked in the inbox's large lane, beside (never in front of) the mail and
 * small reports of the small lane (src/intake/inbox/inbox-worker.ts, `InboxLane`). Default 1 MiB.
 */
export function inboxLargeBytesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnvSettings(inboxEnvSchema, env).AUPDESK_INBOX_LARGE_BYTES;
}

/**
 * The schema's variables read from `env` (an empty value counts as unset), or AUP_ERR_CONFIG_INVALID naming
 * the first variable that is wrong.
 */
function parseEnvSettings<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const values = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, env[name] || undefined]));
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `environment variable ${String(issue?.path[0] ?? '?')}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}
