import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { acceptReport, processInbox, type ReportProcessor } from '../../intake/intake-inbox.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../main.js';

/**
 * `aupdesk ingest <files|dirs...>`: take saved complaints and feed files in through the same door as every
 * other channel (acceptReport: evidence stored, inbox row committed), then work the inbox off
 * (processInbox). A progress bar on stderr (when it is a terminal), then a summary:
 *
 *     ingest: 12 files, 10 accepted, 1 duplicate, 1 failed, 57 events
 *     failed <file>: <reason>
 *
 * `failed` counts files that could not be read or stored and reports that parsed to nothing usable (the
 * evidence is kept either way). Exit status 1 when any failed. Directories are walked recursively in name
 * order, dotfiles skipped. The pipeline, once wired (`setIngestProcessor`), runs for each report.
 */

let ingestProcessor: ReportProcessor | undefined;

/** The pipeline the command hands reports to (set by the module that wires enforcement in). */
export function setIngestProcessor(processor: ReportProcessor | undefined): void {
  ingestProcessor = processor;
}

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
      const deps = { db: store.db, evidence };
      const failures: { file: string; reason: string }[] = [];
      const inboxIds = new Map<string, string>();
      let accepted = 0;
      let duplicates = 0;
      let events = 0;
      const bar = new cliProgress.SingleBar(
        { stream: ctx.err, format: 'ingest [{bar}] {value}/{total} {stage}', hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      try {
        bar.start(files.length * 2, 0, { stage: 'storing' });
        for (const file of files) {
          try {
            const bytes = new Uint8Array(await readFile(file));
            const result = await acceptReport(deps, {
              bytes,
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
          bar.increment(1, { stage: 'storing' });
        }
        bar.update(files.length + duplicates + failures.length, { stage: 'processing' });
        const clock = { now: () => new Date() };
        for (let round = 0; round < 100_000; round++) {
          const summary = await processInbox(
            { ...deps, processReport: ingestProcessor },
            { limit: 50, clock },
          );
          if (summary.claimed === 0) break;
          for (const item of summary.items) {
            const file = inboxIds.get(item.id);
            events += item.events;
            if (file !== undefined && (item.status === 'failed' || item.reportStatus === 'unparsed')) {
              failures.push({ file, reason: item.error ?? 'unparsed' });
            }
            if (file !== undefined && item.status !== 'retry') bar.increment(1, { stage: 'processing' });
          }
        }
        bar.update(files.length * 2, { stage: 'done' });
      } finally {
        bar.stop();
        await evidence.close();
        await store.close();
      }
      ctx.out.write(
        `ingest: ${files.length} file${files.length === 1 ? '' : 's'}, ${accepted} accepted, ${duplicates} duplicate${duplicates === 1 ? '' : 's'}, ${failures.length} failed, ${events} event${events === 1 ? '' : 's'}\n`,
      );
      for (const f of failures) ctx.out.write(`failed ${f.file}: ${f.reason}\n`);
      if (failures.length > 0) throw new CliExit(EXIT_FINDING);
    });
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
