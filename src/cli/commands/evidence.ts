import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EvidenceStore } from '../../intake/evidence-store.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk evidence get <sha256> [--out file]`: the raw bytes as received, verified against their hash,
 * to stdout (or a file). `aupdesk evidence put <file...>`: store files by hand (one line each:
 * `<sha256> <size> stored|duplicate <file>`). The store root is `$AUPDESK_EVIDENCE_DIR` or
 * `<data>/evidence`.
 */
export function registerEvidenceCommands(program: Command, context: () => CliContext): void {
  const evidence = program.command('evidence').description('the content-addressed store of raw evidence');

  evidence
    .command('get')
    .description('write the raw bytes stored under a sha256 to stdout (or --out)')
    .argument('<sha256>', 'evidence id (64 lowercase hex characters)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(async (sha256: string, options: { out?: string }) => {
      const ctx = context();
      const store = new EvidenceStore(ctx.config.evidenceDir);
      try {
        const bytes = await store.get(sha256);
        if (options.out) await writeFile(options.out, bytes);
        else await writeAll(ctx.out, bytes);
      } finally {
        await store.close();
      }
    });

  evidence
    .command('put')
    .description('store files as evidence and print their sha256')
    .argument('<file...>', 'files to store')
    .action(async (files: string[]) => {
      const ctx = context();
      const store = new EvidenceStore(ctx.config.evidenceDir);
      try {
        for (const file of files) {
          const result = await store.put(new Uint8Array(await readFile(file)));
          ctx.out.write(
            `${result.sha256} ${result.size} ${result.duplicate ? 'duplicate' : 'stored'} ${file}\n`,
          );
        }
      } finally {
        // Copies the journalled blobs into the evidence tree (they are durable either way).
        await store.close();
      }
    });
}

/** Write and wait for the stream to take it, so a large blob piped to `head` or a file is not cut short. */
function writeAll(out: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(bytes, (error?: Error | null) => (error ? reject(error) : resolve()));
  });
}
