import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { loadTestConsentSet } from '../../compliance/test-consent-repository.js';
import { inboxLargeBytesFromEnv, segmentEventsFromEnv, triageSettingsFromEnv } from '../../config.js';
import { systemClock } from '../../enforcement/outbox/clock.js';
import { deskDeps } from '../../enforcement/pipeline/desk-deps.js';
import { releaseDeadClaims } from '../../enforcement/pipeline/release-dead-claims.js';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import {
  type ProcessedOutcome,
  processInbox,
  type ReportProcessor,
  type SegmentedProcessing,
} from '../../intake/inbox/inbox-worker.js';
import { ParsePool, parsePoolOptionsFromEnv } from '../../intake/parse-pool/parse-pool.js';
import { RegistrySnapshotHolder } from '../../registry/registry-snapshot.js';
import { loadDeskSecret } from '../../server/desk-secret.js';
import { type RouterDeps, routedInboxProcessor, routedSegments } from '../../server/inbox-router.js';
import type { StoreKind } from '../../store/database.js';
import type { Database } from '../../store/schema.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../exit.js';
import { IngestProgress } from './ingest-progress.js';

/**
 * `aupdesk ingest <files|dirs...>`: take saved complaints and feed files in through the same door as every
 * other channel (acceptReport: evidence stored, inbox row committed), then work the inbox off
 * (processInbox) through the report pipeline, as `aupdesk serve`'s inbox worker does: each report is
 * attributed, judged and opens or joins cases in the inbox row's own transaction. A progress bar on stderr
 * with rows/s and ETA when it is a terminal, plain progress lines otherwise (ingest-progress.ts), then a summary:
 *
 *     ingest: 12 files, 10 accepted, 1 duplicate, 1 failed, 57 events
 *     cases: 2 opened, 1 joined: AUP-000004, AUP-000005, AUP-000002
 *     failed <file>: <reason>
 *
 * The `cases` line appears when a case was opened or joined; their notices and acknowledgements wait in
 * the outbox for `aupdesk worker` (or `aupdesk serve`). `failed` counts files that could not be read or
 * stored and reports that parsed to nothing usable (the evidence is kept either way). Exit status 1 when
 * any failed. Directories are walked recursively in name order, dotfiles skipped.
 *
 * The desk context comes from the store as `aupdesk worker` takes it (desk-deps.ts): the published policy
 * versions (AUPDESK_PROVIDER picks one provider) and the registry snapshot. With no policy published the
 * command refuses before storing anything: a report processed without a policy would be marked done and
 * never judged.
 */

export function registerIngestCommand(program: Command, context: () => CliContext): void {
  program
    .command('ingest')
    .description('accept complaint and feed files into the intake inbox and process them')
    .argument('<paths...>', 'files or directories (walked recursively)')
    .option('--route <route>', 'route recorded on the reports (abuse, dmca, …)')
    .action(async (paths: string[], options: { route?: string }) => {
      const ctx = context();
      const files = await expand(paths);
      const store = await ctx.openStore();
      const evidence = new EvidenceStore(ctx.config.evidenceDir);
      const parsePool = new ParsePool(parsePoolOptionsFromEnv(process.env));
      const deps = { db: store.db, evidence, parse: parsePool.parse };
      const failures: { file: string; reason: string }[] = [];
      const inboxIds = new Map<string, string>();
      const cases = new CaseTally();
      let accepted = 0;
      let duplicates = 0;
      let events = 0;
      const sizes = await Promise.all(
        files.map((f) =>
          stat(f)
            .then((i) => i.size)
            .catch(() => 0),
        ),
      );
      const fileBytes = new Map(files.map((f, i) => [f, sizes[i] ?? 0]));
      let progress: IngestProgress | undefined;
      try {
        // An ingest killed mid-report (kill -9) left its inbox row claimed: take it up now, not after the
        // lease, so running the same command again finishes what the dead one started.
        const released = await releaseDeadClaims(store, systemClock.now());
        if (released.inbox > 0) {
          ctx.err.write(
            `ingest: took up ${released.inbox} report(s) a stopped process had left unfinished\n`,
          );
        }
        const pipeline = await pipelineFor(store.db, evidence, ctx.config.dataDir, store.kind);
        const processing = {
          ...deps,
          processReport: cases.counting(pipeline.whole),
          segments: cases.countingSegments(pipeline.segments),
          stream: parsePool.stream,
          segmentEvents: segmentEventsFromEnv(process.env),
          streamFromBytes: inboxLargeBytesFromEnv(process.env),
        };
        // Events of a report processed in segments, as its segments commit (the bar's rate moves with them).
        const segmentEvents = new Map<string, { events: number; bytes: number }>();
        progress = new IngestProgress(
          ctx.err,
          sizes.reduce((a, b) => a + b, 0),
          files.length,
        );
        for (const file of files) {
          try {
            // A big file is streamed into the evidence store, never held whole (a million-row feed report).
            const big = (fileBytes.get(file) ?? 0) >= processing.streamFromBytes;
            const result = await acceptReport(deps, {
              bytes: big ? { file } : new Uint8Array(await readFile(file)),
              channel: 'file',
              receivedAt: new Date(),
              fileName: path.basename(file),
              route: options.route,
            });
            if (result.duplicate) duplicates++;
            else {
              accepted++;
              inboxIds.set(result.inboxId, file);
            }
          } catch (error) {
            failures.push({ file, reason: error instanceof Error ? error.message : String(error) });
          }
        }
        progress.processing();
        const retrying = new Set<string>();
        for (let round = 0; round < 100_000; round++) {
          const summary = await processInbox(processing, {
            limit: 50,
            clock: systemClock,
            onSegment: ({ inboxId, events: soFar, readBytes = 0 }) => {
              const before = segmentEvents.get(inboxId) ?? { events: 0, bytes: 0 };
              // The bar's share of this file, never past the file's size (a resumed row re-reads from 0).
              const file = inboxIds.get(inboxId);
              const bytes = Math.min(readBytes, file === undefined ? 0 : (fileBytes.get(file) ?? 0));
              progress?.segment(soFar - before.events, Math.max(0, bytes - before.bytes));
              segmentEvents.set(inboxId, { events: soFar, bytes: Math.max(bytes, before.bytes) });
            },
          });
          if (summary.claimed === 0) {
            // A report whose processing failed (a deadlock, the store restarting) waits for its retry:
            // the command waits with it, up to the inbox's last attempt, rather than end with it undone.
            // (Another process sharing the store may have finished it meanwhile: then nothing is left to wait for.)
            if (retrying.size > 0) {
              const pending = await store.db
                .selectFrom('intake_inbox')
                .select('id')
                .where('id', 'in', [...retrying])
                .where('status', '=', 'pending')
                .execute();
              retrying.clear();
              for (const row of pending) retrying.add(String(row.id));
            }
            if (retrying.size === 0) break;
            await new Promise((resolve) => setTimeout(resolve, 500));
            continue;
          }
          for (const item of summary.items) {
            const file = inboxIds.get(item.id);
            if (item.status === 'retry') {
              if (!retrying.has(item.id))
                ctx.err.write(`ingest: ${file ?? `inbox item ${item.id}`}: ${item.error}; trying again\n`);
              retrying.add(item.id);
            } else retrying.delete(item.id);
            events += item.events;
            if (item.status === 'done') cases.commit(item.id);
            if (file !== undefined && (item.status === 'failed' || item.reportStatus === 'unparsed')) {
              failures.push({ file, reason: item.error ?? 'unparsed' });
            }
            if (file !== undefined && item.status !== 'retry') {
              const told = segmentEvents.get(item.id) ?? { events: 0, bytes: 0 };
              progress.processed((fileBytes.get(file) ?? 0) - told.bytes, item.events - told.events);
            }
          }
        }
      } finally {
        progress?.stop();
        await parsePool.close();
        await evidence.close();
        await store.close();
      }
      ctx.out.write(
        `ingest: ${files.length} file${files.length === 1 ? '' : 's'}, ${accepted} accepted, ${duplicates} duplicate${duplicates === 1 ? '' : 's'}, ${failures.length} failed, ${events} event${events === 1 ? '' : 's'}\n`,
      );
      const casesLine = cases.line();
      if (casesLine) ctx.out.write(`${casesLine}\n`);
      for (const f of failures) ctx.out.write(`failed ${f.file}: ${f.reason}\n`);
      if (failures.length > 0) throw new CliExit(EXIT_FINDING);
    });
}

/** The report pipeline with the desk's context from the store, as the inbox's processor. */
async function pipelineFor(
  db: Kysely<Database>,
  evidence: EvidenceStore,
  dataDir: string,
  kind: StoreKind,
): Promise<{ whole: ReportProcessor; segments: SegmentedProcessing }> {
  // Throws AUP_ERR_NOT_FOUND when no policy is published, before anything is stored.
  const desk = await deskDeps(db, systemClock);
  const registry = new RegistrySnapshotHolder(db);
  await registry.refresh();
  const ownAddresses = [process.env.AUPDESK_MAIL_FROM, desk.replyTo].filter(
    (a): a is string => a !== undefined && a !== '',
  );
  const deps: RouterDeps = {
    policies: desk.policies,
    clock: desk.clock,
    messageIdDomain: desk.messageIdDomain,
    ...(desk.replyTo === undefined ? {} : { replyTo: desk.replyTo }),
    // Files do not change the registry under us: one snapshot for the run.
    snapshot: () => registry.current,
    evidence,
    ackPolicy: { ownAddresses, ownDomains: [desk.messageIdDomain] },
    authorisations: loadTestConsentSet,
    replySecret: await loadDeskSecret(dataDir, process.env),
    triage: triageSettingsFromEnv(process.env),
  };
  return {
    whole: routedInboxProcessor(deps),
    // On PostgreSQL each segment is judged while the one before commits (inboxSegmentProcessorFor).
    segments: routedSegments(deps, undefined, kind === 'postgres' ? db : undefined),
  };
}

/**
 * The cases the run opened and joined. A processor's answer counts only once its inbox row is `done` (the
 * transaction committed): a row that is retried or lost its claim did not open anything.
 */
class CaseTally {
  private readonly pending = new Map<string, { cases: string[]; opened: string[] }>();
  private readonly opened = new Set<string>();
  private readonly touched = new Set<string>();

  counting(processor: ReportProcessor): ReportProcessor {
    return async (trx, report, item) => {
      const outcome = await processor(trx, report, item);
      this.note(item.id, outcome);
      return outcome;
    };
  }

  private note(inboxId: string, outcome: ProcessedOutcome): void {
    const list = (v: unknown): string[] =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    this.pending.set(inboxId, { cases: list(outcome.cases), opened: list(outcome.opened) });
  }

  /** The same for a report processed in segments: its last segment says what it came to. */
  countingSegments(segments: SegmentedProcessing): SegmentedProcessing {
    return {
      ...segments,
      process: async (trx, segment, carry, item, options) => {
        const result = await segments.process(trx, segment, carry, item, options);
        if (result.outcome) this.note(item.id, result.outcome);
        return result;
      },
    };
  }

  commit(inboxId: string): void {
    const outcome = this.pending.get(inboxId);
    if (!outcome) return;
    this.pending.delete(inboxId);
    for (const ref of outcome.opened) this.opened.add(ref);
    for (const ref of outcome.cases) this.touched.add(ref);
  }

  line(): string | undefined {
    if (this.touched.size === 0) return undefined;
    const joined = [...this.touched].filter((ref) => !this.opened.has(ref));
    const refs = [...this.opened, ...joined];
    const shown = refs.slice(0, 20).join(', ') + (refs.length > 20 ? `, … (${refs.length - 20} more)` : '');
    return `cases: ${this.opened.size} opened, ${joined.length} joined: ${shown}`;
  }
}

/** Files in argument order; directories expanded recursively, sorted, dotfiles skipped. */
async function expand(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch(() => undefined);
    if (info?.isDirectory()) out.push(...(await walk(p)));
    else out.push(p); // a missing file is reported as failed in the summary
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}
