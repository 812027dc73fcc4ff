import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { simulateTimeline } from '../../enforcement/simulation/desk-simulator.js';
import {
  readSimulationRegistry,
  readSimulationReports,
} from '../../enforcement/simulation/simulation-input.js';
import { AupError } from '../../errors.js';
import {
  createPolicyHistory,
  loadPolicyDirectory,
  loadPolicyFile,
  type PolicyHistory,
} from '../../policy/policy-loader.js';
import { detectRegistryFormat } from '../../registry/registry-file-parser.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk simulate --policy <file|dir> --registry <file> --events <file> [--until <time>]`: what a policy
 * would do with these complaints, as a timeline of JSON lines (`at`, `case`, `customer`, `service`,
 * `clause`, `state`, `action`, `detail`), sorted by time. No side effects: no store, no mail, no hooks.
 * docs/simulation.md explains the rows.
 */
export function registerSimulateCommands(program: Command, context: () => CliContext): void {
  program
    .command('simulate')
    .description(
      'run a policy over past complaints and print the resulting timeline (JSON lines, no side effects)',
    )
    .requiredOption(
      '--policy <file|dir>',
      'a policy file, or a provider folder (policies/<provider>) with its versions',
    )
    .requiredOption('--registry <file>', 'registry CSV or JSON (the registry import format)')
    .requiredOption('--events <file>', 'JSON lines: `aupdesk parse --json` output, or IntelMQ events')
    .option(
      '--until <time>',
      'stop at this instant (ISO 8601 with zone; default 90 days after the last event)',
    )
    .action(async (options: { policy: string; registry: string; events: string; until?: string }) => {
      const ctx = context();
      const history = await loadHistory(options.policy);
      const registryText = await readText(options.registry, '--registry');
      const registry = readSimulationRegistry(
        registryText,
        detectRegistryFormat(options.registry, registryText),
      );
      const reports = readSimulationReports(await readText(options.events, '--events'));
      const until = options.until === undefined ? undefined : parseUntil(options.until);
      const result = simulateTimeline({
        reports,
        snapshot: registry.snapshot,
        policy: history,
        acceptance: registry.acceptance,
        ...(until === undefined ? {} : { until }),
      });
      for (const row of result.rows) ctx.out.write(`${JSON.stringify(row)}\n`);
    });
}

async function loadHistory(target: string): Promise<PolicyHistory> {
  const info = await stat(target).catch(() => undefined);
  if (info?.isDirectory()) return loadPolicyDirectory(target);
  const loaded = await loadPolicyFile(target);
  return createPolicyHistory(loaded.document.provider.id, [loaded]);
}

async function readText(file: string, option: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `${option} ${path.normalize(file)}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

function parseUntil(value: string): Date {
  const ok = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(value);
  const date = new Date(/T/.test(value) ? value : `${value}T00:00:00Z`);
  if (!ok || Number.isNaN(date.getTime())) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `--until must be a date (2026-12-31) or a date-time with zone (2026-12-31T12:00:00Z), not "${value}"`,
    );
  }
  return date;
}
