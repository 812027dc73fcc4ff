/**
 * `npm run bench -- intake [--rows N]`: the intake benchmark of issue 4, both halves on one core, one after
 * the other so they never compete for the CPU:
 *
 * - mail: 10,000 generated ARF and X-ARF mails through `parseReport` (target ≥ 2,000 reports/s);
 * - shadowserver: a 1,000,000-row scan_dns CSV through the Shadowserver parser (target ≥ 300,000 events/s).
 *
 * Each half also times its floor (decode the same bytes and split them into lines) and reports the ratio.
 * Progress goes to stderr; the last stdout line is one JSON object `{"bench":"intake",...}`.
 */
import os from 'node:os';
import { mailWorkload } from './intake-mail.workload.js';
import { shadowserverWorkload } from './intake-shadowserver.workload.js';

const rowsArg = process.argv.indexOf('--rows');
const rows = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 1_000_000;
if (!Number.isInteger(rows) || rows < 1) {
  process.stderr.write('--rows must be a positive whole number\n');
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

log('intake: mail workload (10,000 ARF / X-ARF mails) …');
const mail = await mailWorkload();
log(`  ${JSON.stringify(mail)}`);
gc();

log(`intake: shadowserver workload (${rows.toLocaleString('en')} rows) …`);
const shadowserver = await shadowserverWorkload(rows);
log(`  ${JSON.stringify(shadowserver)}`);

const mailRate = mail.reportsPerSecond ?? 0;
const csvRate = shadowserver.events_per_sec ?? 0;
const result = {
  bench: 'intake',
  machine: `${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}`,
  date: new Date().toISOString(),
  mail,
  shadowserver,
  // The two workloads state their ratio in opposite directions; this is the same figure both ways round:
  // how many times dearer than reading the bytes and splitting them into lines each one is.
  timesFloor: {
    mail: round1((mail.floorReportsPerSecond ?? 0) / Math.max(1, mailRate)),
    shadowserver: round1((shadowserver.floor_lines_per_sec ?? 0) / Math.max(1, csvRate)),
  },
  targets: {
    mailReportsPerSecond: mailRate >= 2000,
    shadowserverEventsPerSecond: csvRate >= 300_000,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
