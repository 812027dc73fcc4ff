import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { AppConfig } from '../config.js';
import type { CaseCommandDeps } from '../enforcement/commands/case-command.js';
import type { Clock } from '../enforcement/outbox/clock.js';
import type { EvidenceStore } from '../intake/evidence-store.js';
import type { InboxCommitter } from '../intake/inbox/inbox-accept.js';
import type { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import type { Store } from '../store/database.js';
import type { AppMetrics } from './plugins/metrics-plugin.js';

/**
 * What the HTTP application is built from and what each feature plugin receives. In a file of their own
 * because `app.ts` registers the plugins and the plugins need these types: one file for both made a loop.
 */

export interface HttpSettings {
  /** Mark the session cookie Secure (default true; false only for plain-http development and tests). */
  readonly secureCookies?: boolean;
  /** Apply the login and public rate limits (default true). */
  readonly rateLimits?: boolean;
  /** Largest JSON body (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Largest report or registry file submitted through the API (default 25 MiB). */
  readonly maxUploadBytes?: number;
  /** Trust X-Forwarded-* from a reverse proxy (default false). */
  readonly trustProxy?: boolean;
  /** Public base URL, used in the OpenAPI `servers` list. */
  readonly publicUrl?: string;
}

export interface AppDeps {
  readonly store: Store;
  readonly config: AppConfig;
  readonly evidenceStore: EvidenceStore;
  readonly clock?: Clock;
  /** Shared registry snapshot (attribution), for features that need it. */
  readonly registrySnapshot?: RegistrySnapshotHolder;
  /** Group commit of intake inbox rows, shared with the other channels of the process. */
  readonly inboxCommitter?: InboxCommitter;
  /** A pino logger; `false` for none (tests); absent, one at `config.logLevel` on stdout. */
  readonly logger?: FastifyBaseLogger | false;
  readonly metrics?: AppMetrics;
  readonly http?: HttpSettings;
  /**
   * What the analyst commands need (policy histories, Message-ID domain). Absent, case actions read every
   * provider's published versions from the store at the time of the action.
   */
  readonly caseCommands?: CaseCommandDeps;
  /** Right-hand side of notice Message-IDs when `caseCommands` is absent (default `aupdesk.invalid`). */
  readonly messageIdDomain?: string;
  /** Further features (public pages, console), each registered as its own plugin. */
  readonly features?: readonly AppFeature[];
}

export interface AppFeature {
  readonly name: string;
  readonly prefix?: string;
  register(app: FastifyInstance, deps: ResolvedAppDeps): Promise<void>;
}

/** `AppDeps` with the defaults filled in: what API plugins and features receive. */
export interface ResolvedAppDeps extends AppDeps {
  readonly clock: Clock;
  readonly metrics: AppMetrics;
  readonly http: Required<Omit<HttpSettings, 'publicUrl'>> & { readonly publicUrl: string | undefined };
}
