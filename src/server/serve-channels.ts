import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AupError } from '../errors.js';
import type { DropDirOptions } from '../intake/channels/drop-dir-watcher.js';
import { type FeedConfig, feedConfigSchema } from '../intake/channels/feed-poller.js';
import type { ImapPollerOptions } from '../intake/channels/imap-poller.js';
import type { SmtpIntakeOptions } from '../intake/channels/smtp-intake-server.js';

/**
 * The intake role's channels as configured from flags and the environment: the feeds file
 * (`--feeds` / `AUPDESK_FEEDS`), the drop directory (`--drop-dir` / `AUPDESK_DROP_DIR`), the IMAP mailbox
 * (`AUPDESK_IMAP_*`) and the SMTP intake's limits and STARTTLS (`AUPDESK_INTAKE_SMTP_*`). Everything is
 * validated before the desk opens its store or listens, so a typo in a feeds file stops `aupdesk serve` at
 * once with the file, the entry and the field named, instead of a feed that silently never pulls.
 */

// ---------------------------------------------------------------------------------------------------------
// Feeds file

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90s`, `15m`, `1h`, `1d`, `500ms`, or a bare number of seconds. */
const durationSchema = z.union([z.number().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return Math.round(value * 1_000);
  const match = DURATION.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration like 90s, 15m, 1h or 1d` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]);
});

/** One entry as written in the file (snake_case, like the policy documents). */
const feedEntrySchema = z.strictObject({
  name: z.string(),
  url: z.string(),
  /** How often to pull; default 1h, at least 1s. */
  interval: durationSchema.optional(),
  /** Extra request headers; `${VAR}` in a value is taken from the environment (keep tokens out of the file). */
  headers: z.record(z.string(), z.string()).optional(),
  /** The route recorded on the reports (e.g. `abuse`); default: format detection decides. */
  route: z.string().optional(),
  /** Largest body taken, bytes (default 256 MiB). */
  max_bytes: z.number().int().positive().optional(),
  /** Request timeout (default 60s). */
  timeout: durationSchema.optional(),
});

const feedsFileSchema = z.union([
  z.array(z.unknown()),
  z.strictObject({ feeds: z.array(z.unknown()) }).transform((f) => f.feeds),
]);

/**
 * Reads and validates a feeds file (YAML, or JSON, which YAML also reads): a list of feeds, or `{feeds: [...]}`.
 *
 * ```yaml
 * feeds:
 *   - name: shadowserver-scan
 *     url: https://reports.example.net/export/scan.csv
 *     interval: 1h
 *     headers: { Authorization: "Bearer ${SHADOWSERVER_TOKEN}" }
 * ```
 *
 * Errors are `AUP_ERR_CONFIG_INVALID` naming the file, the entry (number and name) and the field.
 */
export async function loadFeedsFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FeedConfig[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError('AUP_ERR_CONFIG_INVALID', `feeds file ${file}: cannot be read`, { cause: error });
  }
  return parseFeedsText(text, file, env);
}

export function parseFeedsText(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): FeedConfig[] {
  let raw: unknown;
  try {
    raw = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new AupError('AUP_ERR_CONFIG_INVALID', `feeds file ${file}: not valid YAML or JSON: ${reason}`, {
      cause: error,
    });
  }
  const list = feedsFileSchema.safeParse(raw ?? []);
  if (!list.success) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `feeds file ${file}: expected a list of feeds, or an object with a "feeds" list`,
    );
  }
  const feeds: FeedConfig[] = [];
  const names = new Map<string, number>();
  list.data.forEach((entry, index) => {
    const label = `feeds file ${file}: feed ${index + 1}${entryName(entry)}`;
    const parsed = feedEntrySchema.safeParse(entry);
    if (!parsed.success)
      throw new AupError('AUP_ERR_CONFIG_INVALID', `${label}: ${describeIssue(parsed.error)}`);
    const e = parsed.data;
    const headers = e.headers ? expandHeaders(e.headers, env, label) : undefined;
    const config: FeedConfig = {
      name: e.name,
      url: e.url,
      ...(e.interval !== undefined ? { intervalMs: e.interval } : {}),
      ...(headers ? { headers } : {}),
      ...(e.route !== undefined ? { route: e.route } : {}),
      ...(e.max_bytes !== undefined ? { maxBytes: e.max_bytes } : {}),
      ...(e.timeout !== undefined ? { timeoutMs: e.timeout } : {}),
    };
    // The poller's own schema is the authority on values (URL scheme, name characters, minimum interval).
    const checked = feedConfigSchema.safeParse(config);
    if (!checked.success) {
      throw new AupError('AUP_ERR_CONFIG_INVALID', `${label}: ${describeIssue(checked.error, FIELD_OF)}`);
    }
    const earlier = names.get(e.name);
    if (earlier !== undefined) {
      throw new AupError('AUP_ERR_CONFIG_INVALID', `${label}: the name is already used by feed ${earlier}`);
    }
    names.set(e.name, index + 1);
    feeds.push(config);
  });
  return feeds;
}

/** The poller's field names back to the file's. */
const FIELD_OF: Record<string, string> = {
  intervalMs: 'interval',
  maxBytes: 'max_bytes',
  timeoutMs: 'timeout',
};

function entryName(entry: unknown): string {
  const name = typeof entry === 'object' && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === 'string' && name.length > 0 ? ` (${name.slice(0, 64)})` : '';
}

function describeIssue(error: z.ZodError, rename: Record<string, string> = {}): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  if (issue.code === 'unrecognized_keys')
    return `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const field = issue.path.map((p) => rename[String(p)] ?? String(p)).join('.');
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${field}: is required`;
  return field ? `${field}: ${issue.message}` : issue.message;
}

function expandHeaders(
  headers: Record<string, string>,
  env: NodeJS.ProcessEnv,
  label: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, variable: string) => {
      const found = env[variable];
      if (found === undefined || found === '') {
        throw new AupError(
          'AUP_ERR_CONFIG_INVALID',
          `${label}: headers.${name}: environment variable ${variable} is not set`,
        );
      }
      return found;
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Drop directory

export interface DropDirSettings extends Pick<DropDirOptions, 'dir' | 'route'> {}

/** `--drop-dir`, else `AUPDESK_DROP_DIR` (with `AUPDESK_DROP_ROUTE`); undefined when neither is set. */
export function dropDirSettings(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): DropDirSettings | undefined {
  const dir = flag || env.AUPDESK_DROP_DIR;
  if (!dir) return undefined;
  const route = env.AUPDESK_DROP_ROUTE || undefined;
  if (route !== undefined && !/^[a-z][a-z0-9-]{0,39}$/.test(route)) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `AUPDESK_DROP_ROUTE: "${route}" is not a route name like abuse`,
    );
  }
  return { dir: path.resolve(dir), ...(route ? { route } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// IMAP

const flag = z
  .enum(['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));
const positiveInt = z
  .string()
  .regex(/^\d+$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().positive());

const imapEnvSchema = z.object({
  AUPDESK_IMAP_HOST: z.string().min(1),
  AUPDESK_IMAP_PORT: positiveInt.pipe(z.number().max(65_535, 'must be a port number')).optional(),
  AUPDESK_IMAP_SECURE: flag.optional(),
  AUPDESK_IMAP_ALLOW_SELF_SIGNED: flag.optional(),
  AUPDESK_IMAP_USER: z.string().min(1, 'is required with AUPDESK_IMAP_HOST'),
  AUPDESK_IMAP_PASSWORD: z.string().min(1, 'is required with AUPDESK_IMAP_HOST'),
  AUPDESK_IMAP_MAILBOX: z.string().min(1).optional(),
  AUPDESK_IMAP_PROCESSED_FOLDER: z.string().min(1).optional(),
  AUPDESK_IMAP_FAILED_FOLDER: z.string().min(1).optional(),
  AUPDESK_IMAP_ROUTE: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a route name like abuse')
    .optional(),
  AUPDESK_IMAP_MAX_BYTES: positiveInt.optional(),
  AUPDESK_IMAP_BATCH: positiveInt.optional(),
  AUPDESK_IMAP_POLL_MS: positiveInt.pipe(z.number().min(1_000, 'must be at least 1000 (1 s)')).optional(),
});

export type ImapSettings = ImapPollerOptions & { readonly intervalMs: number };

/**
 * The variables starting with `prefix` (empty ones count as unset) checked against `schema`; the first
 * problem is thrown as `AUP_ERR_CONFIG_INVALID` naming the variable.
 */
function prefixedEnv<T extends z.ZodType>(
  env: NodeJS.ProcessEnv,
  prefix: string,
  schema: T,
  defaults: Record<string, string> = {},
): z.output<T> {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => k.startsWith(prefix) && v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse({ ...defaults, ...present });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `${String(issue?.path[0] ?? `${prefix}*`)}: ${issue?.message ?? 'invalid'}`,
    );
  }
  return parsed.data;
}

/** The IMAP poller's settings from `AUPDESK_IMAP_*`; undefined when `AUPDESK_IMAP_HOST` is not set. */
export function imapSettingsFromEnv(env: NodeJS.ProcessEnv): ImapSettings | undefined {
  if (!env.AUPDESK_IMAP_HOST) return undefined;
  const e = prefixedEnv(env, 'AUPDESK_IMAP_', imapEnvSchema, {
    AUPDESK_IMAP_USER: '',
    AUPDESK_IMAP_PASSWORD: '',
  });
  const port = e.AUPDESK_IMAP_PORT ?? 993;
  return {
    host: e.AUPDESK_IMAP_HOST,
    port,
    secure: e.AUPDESK_IMAP_SECURE ?? port === 993,
    allowSelfSigned: e.AUPDESK_IMAP_ALLOW_SELF_SIGNED ?? false,
    user: e.AUPDESK_IMAP_USER,
    password: e.AUPDESK_IMAP_PASSWORD,
    ...(e.AUPDESK_IMAP_MAILBOX ? { mailbox: e.AUPDESK_IMAP_MAILBOX } : {}),
    ...(e.AUPDESK_IMAP_PROCESSED_FOLDER ? { processedFolder: e.AUPDESK_IMAP_PROCESSED_FOLDER } : {}),
    ...(e.AUPDESK_IMAP_FAILED_FOLDER ? { failedFolder: e.AUPDESK_IMAP_FAILED_FOLDER } : {}),
    ...(e.AUPDESK_IMAP_ROUTE ? { route: e.AUPDESK_IMAP_ROUTE } : {}),
    ...(e.AUPDESK_IMAP_MAX_BYTES ? { maxMessageBytes: e.AUPDESK_IMAP_MAX_BYTES } : {}),
    ...(e.AUPDESK_IMAP_BATCH ? { batch: e.AUPDESK_IMAP_BATCH } : {}),
    intervalMs: e.AUPDESK_IMAP_POLL_MS ?? 60_000,
  };
}

// ---------------------------------------------------------------------------------------------------------
// SMTP intake

const smtpIntakeEnvSchema = z.strictObject({
  AUPDESK_INTAKE_SMTP_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/, 'must be a host name')
    .optional(),
  AUPDESK_INTAKE_SMTP_DOMAINS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase())
        .filter((d) => d !== ''),
    )
    .pipe(z.array(z.string().regex(/^[a-z0-9.-]{1,253}$/, 'must be domain names separated by commas')).min(1))
    .optional(),
  AUPDESK_INTAKE_SMTP_MAX_BYTES: positiveInt.pipe(z.number().min(1024, 'must be at least 1024')).optional(),
  AUPDESK_INTAKE_SMTP_MAX_CLIENTS: positiveInt.optional(),
  AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: positiveInt.optional(),
  AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: positiveInt.optional(),
  AUPDESK_INTAKE_SMTP_TLS_KEY: z.string().optional(),
  AUPDESK_INTAKE_SMTP_TLS_CERT: z.string().optional(),
});

/** What the environment sets of the SMTP intake (src/intake/channels/smtp-intake-server.ts has the rest). */
export type SmtpIntakeSettings = Pick<
  SmtpIntakeOptions,
  | 'serverName'
  | 'domains'
  | 'maxMessageBytes'
  | 'maxClients'
  | 'maxConnectionsPerClient'
  | 'rateLimit'
  | 'tls'
>;

/**
 * The SMTP intake's settings from `AUPDESK_INTAKE_SMTP_*` (docs/operations.md): the name in the greeting,
 * the recipient domains taken, the size limit, connection and rate limits per client address, and
 * STARTTLS with a PEM key and certificate read from the files named (both or neither). A file that cannot
 * be read, or is not PEM, stops the start with the variable named.
 */
export async function smtpIntakeSettingsFromEnv(env: NodeJS.ProcessEnv): Promise<SmtpIntakeSettings> {
  const e = prefixedEnv(env, 'AUPDESK_INTAKE_SMTP_', smtpIntakeEnvSchema);
  if (Boolean(e.AUPDESK_INTAKE_SMTP_TLS_KEY) !== Boolean(e.AUPDESK_INTAKE_SMTP_TLS_CERT)) {
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      'AUPDESK_INTAKE_SMTP_TLS_KEY and AUPDESK_INTAKE_SMTP_TLS_CERT: set both (STARTTLS) or neither',
    );
  }
  const pem = async (variable: string, file: string, label: RegExp): Promise<string> => {
    const text = await readFile(path.resolve(file), 'utf8').catch((error: unknown) => {
      throw new AupError('AUP_ERR_CONFIG_INVALID', `${variable}: cannot read ${file}`, { cause: error });
    });
    if (!label.test(text)) {
      throw new AupError('AUP_ERR_CONFIG_INVALID', `${variable}: ${file} is not a PEM ${label.source} file`);
    }
    return text;
  };
  const tls =
    e.AUPDESK_INTAKE_SMTP_TLS_KEY && e.AUPDESK_INTAKE_SMTP_TLS_CERT
      ? {
          key: await pem('AUPDESK_INTAKE_SMTP_TLS_KEY', e.AUPDESK_INTAKE_SMTP_TLS_KEY, /PRIVATE KEY/),
          cert: await pem('AUPDESK_INTAKE_SMTP_TLS_CERT', e.AUPDESK_INTAKE_SMTP_TLS_CERT, /CERTIFICATE/),
        }
      : undefined;
  return {
    ...(e.AUPDESK_INTAKE_SMTP_NAME ? { serverName: e.AUPDESK_INTAKE_SMTP_NAME } : {}),
    ...(e.AUPDESK_INTAKE_SMTP_DOMAINS ? { domains: e.AUPDESK_INTAKE_SMTP_DOMAINS } : {}),
    ...(e.AUPDESK_INTAKE_SMTP_MAX_BYTES ? { maxMessageBytes: e.AUPDESK_INTAKE_SMTP_MAX_BYTES } : {}),
    ...(e.AUPDESK_INTAKE_SMTP_MAX_CLIENTS ? { maxClients: e.AUPDESK_INTAKE_SMTP_MAX_CLIENTS } : {}),
    ...(e.AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT
      ? { maxConnectionsPerClient: e.AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT }
      : {}),
    ...(e.AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE
      ? { rateLimit: { messages: e.AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE, perMs: 60_000 } }
      : {}),
    ...(tls ? { tls } : {}),
  };
}
