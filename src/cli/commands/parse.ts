import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AupError } from '../../errors.js';
import { EvidenceStore } from '../../intake/evidence-store.js';
import { parseReport } from '../../intake/parse-report.js';
import { type Channel, channels, type ParsedReport } from '../../intake/report.js';
import type { CliContext } from '../context.js';
import { CliExit, EXIT_FINDING } from '../exit.js';

/**
 * `aupdesk parse <file|dir...> [--json]`: parse saved complaints (mail as .eml, CSV, JSON, text) without a
 * database. With `--json`, one JSON object per line per input file — the ParsedReport with `file` first
 * (documented in docs/formats.md; a public interface, keep it stable). Without, a short summary per file.
 * Directories are walked recursively in name order (dotfiles skipped). A file that fails still yields its
 * line. Exit status 1 when any input was `unparsed`.
 */
export function registerParseCommand(program: Command, context: () => CliContext): void {
  program
    .command('parse')
    .description('parse complaint files (mail, CSV, JSON, text) into reports and events')
    .argument('<paths...>', 'files or directories (walked recursively)')
    .option('--json', 'one JSON object per line per file')
    .option('--channel <channel>', `channel recorded on the reports (${channels.join(', ')})`, 'file')
    .option('--received-at <time>', 'receipt time for the reports (ISO 8601; default now)')
    .option('--store-evidence', 'write each file to the evidence store before parsing')
    .action(
      async (
        paths: string[],
        options: { json?: boolean; channel: string; receivedAt?: string; storeEvidence?: boolean },
      ) => {
        const ctx = context();
        const channel = parseChannel(options.channel);
        const receivedAt = parseReceivedAt(options.receivedAt);
        const store = options.storeEvidence ? new EvidenceStore(ctx.config.evidenceDir) : undefined;
        let unparsed = 0;
        for (const file of await expand(paths)) {
          let line: Record<string, unknown>;
          let status: string;
          try {
            const bytes = new Uint8Array(await readFile(file));
            const evidence = store ? await store.put(bytes) : undefined;
            const report = await parseReport({
              bytes,
              fileName: path.basename(file),
              channel,
              receivedAt,
              evidenceSha256: evidence?.sha256,
            });
            line = { ...report, file };
            status = report.status;
          } catch (error) {
            // Unreadable (permissions, vanished): still a line, without an evidence hash since no bytes were read.
            status = 'unparsed';
            line = {
              file,
              format: 'unknown',
              channel,
              receivedAt: receivedAt.toISOString(),
              reporter: { anonymous: true, automated: false },
              status,
              events: [],
              errors: [
                {
                  message: `cannot read: ${error instanceof Error ? error.message : String(error)}`,
                  location: 'file',
                },
              ],
            };
          }
          if (status === 'unparsed') unparsed++;
          ctx.out.write(
            options.json ? `${JSON.stringify(line)}\n` : summary(line as ParsedReport & { file: string }),
          );
        }
        // Copies the journalled blobs into the evidence tree before the process exits.
        await store?.close();
        if (unparsed > 0) throw new CliExit(EXIT_FINDING);
      },
    );
}

/** Files in argument order; directories expanded recursively, sorted, dotfiles skipped. */
async function expand(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let info: Awaited<ReturnType<typeof stat>> | undefined;
    try {
      info = await stat(p);
    } catch {
      out.push(p); // reported as unreadable in its line
      continue;
    }
    if (info.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
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

function summary(r: ParsedReport & { file: string }): string {
  const who =
    r.reporter.organisation ??
    r.reporter.name ??
    r.reporter.email ??
    (r.reporter.anonymous ? 'anonymous' : 'unknown');
  const classes = [
    ...new Set(r.events.map((e) => `${e['classification.taxonomy']}/${e['classification.type']}`)),
  ];
  const lines = [
    `${r.file}: ${r.format} ${r.status}, ${r.events.length} event${r.events.length === 1 ? '' : 's'}` +
      `${classes.length > 0 ? ` (${classes.slice(0, 4).join(', ')}${classes.length > 4 ? ', …' : ''})` : ''}` +
      `, ${r.errors.length} error${r.errors.length === 1 ? '' : 's'}, from ${who}${r.reporter.automated ? ' (automated)' : ''}`,
  ];
  for (const e of r.errors.slice(0, 3)) lines.push(`  ${e.location ?? '-'}: ${e.message}`);
  if (r.errors.length > 3) lines.push(`  … ${r.errors.length - 3} more`);
  return `${lines.join('\n')}\n`;
}

function parseChannel(value: string): Channel {
  if ((channels as readonly string[]).includes(value)) return value as Channel;
  throw new AupError(
    'AUP_ERR_INPUT_INVALID',
    `--channel must be one of ${channels.join(', ')}, not "${value}"`,
  );
}

function parseReceivedAt(value: string | undefined): Date {
  if (value === undefined) return new Date();
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !/(Z|[+-]\d{2}:?\d{2})$/i.test(value.trim())) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `--received-at must be an ISO 8601 time with a zone, not "${value}"`,
    );
  }
  return new Date(ms);
}
