import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { receiptDate, restoreWindow } from '../../dmca/business-days.js';
import {
  checkCounterNotice,
  checkNotice,
  checkSummary,
  elementDescriptions,
} from '../../dmca/notice-check.js';
import { AupError } from '../../errors.js';
import { textOfBytes } from '../../server/inbox-router.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk dmca check <file> [--counter]`: a notice (17 U.S.C. 512(c)(3)(A)) or counter-notice (512(g)(3))
 * checked element by element, with the text that satisfied each one. A mail file is read by its text body.
 * The exit status is 0 whenever the check ran; completeness is in the answer.
 *
 * `aupdesk dmca restore-window --received <time>`: the 10th and 14th US federal business days after
 * receipt, the window in which material is restored after a valid counter-notice (512(g)(2)(C)).
 */
export function registerDmcaCommands(program: Command, context: () => CliContext): void {
  const dmca = program.command('dmca').description('DMCA notices and counter-notices (17 U.S.C. 512)');

  dmca
    .command('check <file>')
    .description(
      'check a notice (or with --counter a counter-notice) against the statute, element by element',
    )
    .option('--counter', 'the file is a counter-notice (512(g)(3)(A)-(D))')
    .option('--json', 'print one JSON object: kind, complete, elements, missing')
    .action(async (file: string, opts: { counter?: boolean; json?: boolean }) => {
      const ctx = context();
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        );
      }
      const text = textOfBytes(bytes);
      const summary = checkSummary(opts.counter ? checkCounterNotice(text) : checkNotice(text));
      if (opts.json) {
        ctx.out.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const lines = [
        `${summary.kind}: ${summary.complete ? 'complete' : `incomplete (${summary.missing.length} missing)`}`,
      ];
      for (const [id, el] of Object.entries(summary.elements)) {
        lines.push(
          `  ${el.found ? 'found  ' : 'MISSING'} ${id}${el.text ? `: ${el.text.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`,
        );
        if (!el.found)
          lines.push(`          needs ${elementDescriptions[id as keyof typeof elementDescriptions]}`);
      }
      ctx.out.write(`${lines.join('\n')}\n`);
    });

  dmca
    .command('restore-window')
    .description(
      'the 10th and 14th business days after a counter-notice was received (US federal holidays excluded)',
    )
    .requiredOption(
      '--received <time>',
      'when the counter-notice was received (ISO 8601; the date as written is the receipt date)',
    )
    .option('--json', 'print one JSON object: earliest, latest')
    .action((opts: { received: string; json?: boolean }) => {
      const ctx = context();
      let received: string;
      try {
        received = receiptDate(opts.received);
      } catch (error) {
        throw new AupError('AUP_ERR_INPUT_INVALID', `--received: ${(error as Error).message}`);
      }
      const window = restoreWindow(received);
      ctx.out.write(
        opts.json
          ? `${JSON.stringify(window)}\n`
          : `received ${received}: restore not before ${window.earliest} (business day 10) and not after ${window.latest} (business day 14)\n`,
      );
    });
}
