import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerApikeyCommands } from './apikey.js';
import { registerAuditCommands } from './audit.js';
import { registerCasesCommands } from './cases.js';
import { registerComplianceCommands } from './compliance.js';
import { registerConsentCommands } from './consent.js';
import { registerDbCommands } from './db.js';
import { registerDmcaCommands } from './dmca.js';
import { registerEvidenceCommands } from './evidence.js';
import { registerFlowsCommands } from './flows.js';
import { registerIngestCommand } from './ingest.js';
import { registerLegalCommands } from './legal.js';
import { registerParseCommand } from './parse.js';
import { registerPolicyCommands } from './policy.js';
import { registerRegistryCommands } from './registry.js';
import { registerSanctionsCommands } from './sanctions.js';
import { registerServeCommand } from './serve.js';
import { registerSimulateCommands } from './simulate.js';
import { registerUserCommands } from './user.js';
import { registerWhoisCommand } from './whois.js';
import { registerWorkerCommands } from './worker.js';

/** Every command group of the `aupdesk` CLI, one file each under this folder. */
export function registerCommands(program: Command, context: () => CliContext): void {
  registerApikeyCommands(program, context);
  registerAuditCommands(program, context);
  registerCasesCommands(program, context);
  registerComplianceCommands(program, context);
  registerConsentCommands(program, context);
  registerDbCommands(program, context);
  registerDmcaCommands(program, context);
  registerEvidenceCommands(program, context);
  registerFlowsCommands(program, context);
  registerIngestCommand(program, context);
  registerLegalCommands(program, context);
  registerParseCommand(program, context);
  registerPolicyCommands(program, context);
  registerRegistryCommands(program, context);
  registerSanctionsCommands(program, context);
  registerServeCommand(program, context);
  registerSimulateCommands(program, context);
  registerUserCommands(program, context);
  registerWhoisCommand(program, context);
  registerWorkerCommands(program, context);
}
