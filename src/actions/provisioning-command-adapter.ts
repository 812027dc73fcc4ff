import { spawn } from 'node:child_process';
import { z } from 'zod';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type ProvisionPayload, provisionPayloadSchema } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import { provisioningBody, provisionKinds } from './provisioning-webhook-adapter.js';

/**
 * `provision.*` through a local command: for providers whose provisioning is a script (`whmapi1
 * suspendacct`, `qm stop`, `openstack server suspend`) rather than an HTTP service. The command is an argv
 * array run without a shell (no quoting bugs, no injection from a case's reason text); the request is the
 * webhook's JSON body on stdin, so one receiver script can serve both.
 *
 * Exit codes: 0 done; 75 (EX_TEMPFAIL) and death by signal or timeout are retried; any other code is
 * permanent (the script says the request cannot succeed). The first 4 KiB of stdout is the recorded result.
 */

export const commandConfigSchema = z
  .object({
    /** argv: the program and its fixed arguments; `{action}` in an argument is replaced by the operation. */
    argv: z.array(z.string().min(1)).min(1),
    timeoutMs: z.number().int().positive().default(60_000),
    /** Extra environment for the command (credentials it needs); PATH and HOME are passed through. */
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** Exit codes that mean "try again later". */
    retryExitCodes: z.array(z.number().int()).default([75]),
  })
  .strict();
export type CommandConfig = z.input<typeof commandConfigSchema>;

interface CommandOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const OUTPUT_LIMIT = 4096;

function runCommand(
  argv: string[],
  input: string,
  options: { timeoutMs: number; env: Record<string, string>; cwd?: string; signal: AbortSignal },
): Promise<CommandOutcome> {
  return new Promise((resolve, reject) => {
    const [program, ...args] = argv;
    const child = spawn(program!, args, {
      shell: false,
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
      signal: options.signal,
    });
    let stdout = '';
    let stderr = '';
    const started = Date.now();
    child.stdout.on('data', (chunk: Buffer) => {
      if (stdout.length < OUTPUT_LIMIT) stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < OUTPUT_LIMIT) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) => {
      if ((error as NodeJS.ErrnoException).code === 'ABORT_ERR') {
        resolve({ code: null, signal: 'SIGKILL', stdout, stderr, timedOut: false });
      } else reject(error);
    });
    child.stdin.on('error', () => {
      // The command may exit without reading stdin; its exit code still decides.
    });
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: stdout.slice(0, OUTPUT_LIMIT),
        stderr: stderr.slice(0, OUTPUT_LIMIT),
        timedOut: signal === 'SIGKILL' && Date.now() - started >= options.timeoutMs - 50,
      });
    });
    child.stdin.end(input);
  });
}

export class ProvisioningCommandAdapter {
  private readonly config: z.output<typeof commandConfigSchema>;

  constructor(config: CommandConfig) {
    const parsed = commandConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        `provisioning command: ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    this.config = parsed.data;
  }

  async perform(action: OutboxAction<ProvisionPayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = provisionPayloadSchema.parse(action.payload);
    const body = JSON.stringify(provisioningBody(payload, action.idempotencyKey, ctx.clock.now()));
    const argv = this.config.argv.map((a) => a.replaceAll('{action}', payload.operation));
    const what = `provisioning command ${payload.operation} of ${payload.serviceId}`;
    let outcome: CommandOutcome;
    try {
      outcome = await runCommand(argv, `${body}\n`, {
        timeoutMs: this.config.timeoutMs,
        env: {
          ...this.config.env,
          AUPDESK_IDEMPOTENCY_KEY: action.idempotencyKey,
          AUPDESK_ACTION: payload.operation,
        },
        ...(this.config.cwd === undefined ? {} : { cwd: this.config.cwd }),
        signal: ctx.signal,
      });
    } catch (error) {
      // ENOENT/EACCES: the configured program cannot run at all; retrying will not change that.
      throw new AupError(
        'AUP_ERR_ACTION_REJECTED',
        `${what}: cannot run ${argv[0]}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const details = { exitCode: outcome.code, signal: outcome.signal, stderr: outcome.stderr.trim() };
    if (outcome.code === 0) {
      let answer: JsonValue = outcome.stdout.trim();
      try {
        answer = JSON.parse(outcome.stdout) as JsonValue;
      } catch {
        // Plain-text output is recorded as text.
      }
      return { exitCode: 0, operation: payload.operation, service: payload.serviceId, answer };
    }
    if (outcome.code === null || this.config.retryExitCodes.includes(outcome.code)) {
      const why = outcome.timedOut
        ? `timed out after ${this.config.timeoutMs} ms`
        : `ended by ${outcome.signal ?? `exit ${outcome.code}`}`;
      throw new AupError('AUP_ERR_ACTION_FAILED', `${what}: ${why}: ${outcome.stderr.trim()}`, { details });
    }
    throw new AupError('AUP_ERR_ACTION_REJECTED', `${what}: exit ${outcome.code}: ${outcome.stderr.trim()}`, {
      details,
    });
  }

  handlers(): ActionHandler<ProvisionPayload>[] {
    return provisionKinds.map((kind) => ({
      kind,
      payloadSchema: provisionPayloadSchema as z.ZodType<ProvisionPayload>,
      perform: (action, ctx) => this.perform(action, ctx),
    }));
  }
}
