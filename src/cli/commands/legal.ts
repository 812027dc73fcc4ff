import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { AupError } from '../../errors.js';
import { assessmentSummary, assessRequest } from '../../legal/assess-request.js';
import { describeIssues, informationRequestSchema } from '../../legal/information-request.js';
import { bindingVersion } from '../../policy/policy-binding.js';
import { loadPolicyDirectory, loadPolicyFile } from '../../policy/policy-loader.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import type { CliContext } from '../context.js';

/**
 * `aupdesk legal assess --policy <file|dir> --request <file.json>`: an information request decided by the
 * policy's own terms (a directory: the version in force now). Pure: no store is opened.
 */
export function registerLegalCommands(program: Command, context: () => CliContext): void {
  const legal = program
    .command('legal')
    .description('legal information requests (subpoenas, court orders, …)');
  legal
    .command('assess')
    .description(
      "decide an information request by the policy's terms: accepted or refused, fee estimate, notices",
    )
    .requiredOption(
      '--policy <file|dir>',
      'a policy document, or a provider directory (the version in force now)',
    )
    .requiredOption('--request <file.json>', 'the request: kind, requester, matter, asks, estimated_hours')
    .option('--json', 'print one JSON object: decision, reasons, fee, requester_notices')
    .action(async (opts: { policy: string; request: string; json?: boolean }) => {
      const ctx = context();
      const now = new Date();
      const doc = await policyOf(opts.policy, now);
      const request = await requestOf(opts.request);
      const summary = assessmentSummary(assessRequest(doc, request, now));
      if (opts.json) {
        ctx.out.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const lines = [`${doc.provider.name} ${doc.version}: ${summary.decision}`];
      for (const r of summary.reasons) lines.push(`  reason: ${r}`);
      if (summary.fee) {
        lines.push(
          `  fee: ${summary.fee.hourly_rate} ${summary.fee.currency}/hour x ${summary.fee.estimated_hours} h = ${summary.fee.estimate} ${summary.fee.currency} (estimate)`,
        );
      }
      for (const n of summary.requester_notices) lines.push(`  tell the requester: ${n}`);
      ctx.out.write(`${lines.join('\n')}\n`);
    });
}

async function policyOf(path: string, now: Date): Promise<PolicyDocument> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch {
    throw new AupError('AUP_ERR_POLICY_FILE_UNREADABLE', `--policy: ${path} does not exist`);
  }
  if (!isDir) return (await loadPolicyFile(path)).document;
  const history = await loadPolicyDirectory(path);
  return bindingVersion(history, { at: now.toISOString() }).document;
}

async function requestOf(path: string) {
  let source: string;
  try {
    source = await readFile(path, 'utf8');
  } catch (error) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `--request: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `--request ${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = informationRequestSchema.safeParse(json);
  if (!parsed.success) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `--request ${path}: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
