import type { Kysely, Transaction } from 'kysely';
import { AupError } from '../../errors.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import {
  listProviders,
  loadPolicyHistoryFromStore,
  publishedPolicyStamp,
} from '../../policy/policy-repository.js';
import type { Database } from '../../store/schema.js';

/**
 * Every published provider's policy history, kept current in a long-running process: a version published
 * through the console, the API or the CLI (by any process on the same store) binds the next event without
 * a restart. `histories` is one array shared by the pipeline's and the worker's deps and updated in place;
 * `refresh` compares a cheap stamp of the published versions (count and newest id) and reloads only when it
 * changed, so the per-batch check costs one index-only query.
 *
 * The desk's default provider (`serve --provider`) comes first: a customer whose registry row names no
 * provider, or one this desk has no policy of, is judged under it (customer-binding.ts).
 */
export class LivePolicies {
  readonly histories: PolicyHistory[] = [];
  /** How many times the histories were loaded: work judged under one count is stale under another. */
  get generation(): number {
    return this.loads;
  }
  private loads = 0;
  private stamp = '';
  /** Transactions already checked: the inbox completes several reports in one (inbox-group.ts). */
  private readonly checked = new WeakSet<object>();

  private constructor(readonly defaultProvider: string | undefined) {}

  static async load(db: Kysely<Database>, defaultProvider?: string): Promise<LivePolicies> {
    const live = new LivePolicies(defaultProvider);
    await live.refresh(db);
    if (live.histories.length === 0) {
      throw new AupError(
        'AUP_ERR_NOT_FOUND',
        'no policy is published: run `aupdesk policy publish <file>` first',
      );
    }
    return live;
  }

  /**
   * Reloads when a version was published since the last look; true when it did. Within one transaction it
   * looks once: the reports a transaction completes together are judged under the same versions.
   */
  async refresh(db: Kysely<Database> | Transaction<Database>): Promise<boolean> {
    if (db.isTransaction) {
      if (this.checked.has(db)) return false;
      this.checked.add(db);
    }
    const stamp = await publishedPolicyStamp(db);
    if (stamp === this.stamp) return false;
    const providers = (await listProviders(db)).map((p) => p.id);
    providers.sort((a, b) => Number(b === this.defaultProvider) - Number(a === this.defaultProvider));
    const loaded: PolicyHistory[] = [];
    for (const id of providers) loaded.push(await loadPolicyHistoryFromStore(db, id));
    this.histories.splice(0, this.histories.length, ...loaded);
    this.stamp = stamp;
    this.loads += 1;
    return true;
  }

  /** Provider ids served, the default first. */
  providers(): string[] {
    return this.histories.map((h) => h.provider);
  }
}
