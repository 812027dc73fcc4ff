/**
 * The intake process of the SMTP crash test (smtp-crash.test.ts spawns it with `node --import tsx`): the SMTP
 * intake server with group commit plus the inbox worker, on a durable store (CRASH_PGLITE_DIR, or
 * DATABASE_URL + CRASH_SCHEMA) and an evidence directory (CRASH_EVIDENCE_DIR). Its report processor records
 * each processed Message-ID in `crash_effects` inside the inbox's transaction, standing in for the
 * pipeline's writes, so the test can count how often each message was processed.
 *
 * Prints `READY <port>`. On SIGTERM it stops the server, drains the inbox, prints `DRAINED` and exits 0.
 * CLOCK_OFFSET_MS moves its clock forward (a restarted process sees the dead one's leases expired).
 */
import { sql } from 'kysely';
import { SmtpIntakeServer } from '../../src/intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import {
  InboxCommitter,
  InboxWorker,
  processInbox,
  type ReportProcessor,
} from '../../src/intake/intake-inbox.js';
import { openStore } from '../../src/store/database.js';

const env = process.env;
const store = await openStore(
  env.CRASH_PGLITE_DIR
    ? { pgliteDir: env.CRASH_PGLITE_DIR }
    : { databaseUrl: env.DATABASE_URL, schema: env.CRASH_SCHEMA!, poolSize: 8 },
);
await sql`create table if not exists crash_effects (id bigint generated always as identity, message_id text)`.execute(
  store.db,
);
const offset = Number(env.CLOCK_OFFSET_MS ?? 0);
const clock = { now: () => new Date(Date.now() + offset) };
const evidence = new EvidenceStore(env.CRASH_EVIDENCE_DIR!);
const record: ReportProcessor = async (trx, report) => {
  await sql`insert into crash_effects (message_id) values (${report.messageId ?? null})`.execute(trx);
  return {};
};
const processorDeps = { db: store.db, evidence, processReport: record, leaseMs: 5_000 };
const worker = new InboxWorker(processorDeps, { clock, batch: 50, pollMs: 200 });
const server = new SmtpIntakeServer(
  { db: store.db, evidence, committer: new InboxCommitter(store.db) },
  {
    port: Number(env.CRASH_PORT ?? 0),
    maxConnectionsPerClient: 100,
    rateLimit: { messages: 100_000, perMs: 1_000 },
    onAccepted: () => worker.wake(),
  },
);
const port = await server.listen();
worker.start();
process.stdout.write(`READY ${port}\n`);

process.on('SIGTERM', () => {
  void (async () => {
    await server.close();
    await worker.stop();
    for (;;) {
      const s = await processInbox(processorDeps, { limit: 100, clock });
      if (s.claimed === 0) break;
    }
    await store.close();
    process.stdout.write('DRAINED\n');
    process.exit(0);
  })();
});
