import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProvisioningCommandAdapter } from '../../src/actions/provisioning-command-adapter.js';
import type { ProvisionPayload } from '../../src/enforcement/planned-action.js';
import { isAupError } from '../../src/errors.js';
import { contextOf, outboxActionOf } from './action-support.js';

const dir = mkdtempSync(path.join(tmpdir(), 'aupdesk-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));

/** A provisioning "script": records its argv, env key and stdin, then exits as told by EXIT_WITH. */
const script = path.join(dir, 'hook.mjs');
writeFileSync(
  script,
  `import { readFileSync, writeFileSync } from 'node:fs';
const input = readFileSync(0, 'utf8');
writeFileSync(process.env.OUT_FILE, JSON.stringify({ argv: process.argv.slice(2), key: process.env.AUPDESK_IDEMPOTENCY_KEY, input }));
const code = Number(process.env.EXIT_WITH ?? 0);
if (process.env.SLEEP_MS) await new Promise((r) => setTimeout(r, Number(process.env.SLEEP_MS)));
if (code === 0) process.stdout.write(JSON.stringify({ suspended: true }));
else process.stderr.write('cannot do that');
process.exit(code);
`,
);

const payload: ProvisionPayload = {
  caseId: '42',
  customerId: 'cust-1',
  serviceId: 'svc-1',
  operation: 'suspend',
  reason: 'AUP case 42; $(touch /tmp/pwned) `id`',
  slaCreditEligible: true,
  urls: [],
};

function adapter(env: Record<string, string>, timeoutMs = 10_000) {
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  return {
    out,
    adapter: new ProvisioningCommandAdapter({
      argv: [process.execPath, script, '--action={action}'],
      env: { OUT_FILE: out, ...env },
      timeoutMs,
    }),
  };
}

describe('provisioning command adapter', () => {
  it('runs the argv without a shell, JSON on stdin, exit 0 is done', async () => {
    const { adapter: a, out } = adapter({ EXIT_WITH: '0' });
    const result = await a.perform(
      outboxActionOf('provision.suspend', '42/s/1/provision.suspend', payload),
      contextOf('k'),
    );
    expect(result).toMatchObject({ exitCode: 0, answer: { suspended: true } });
    const seen = JSON.parse(readFileSync(out, 'utf8'));
    expect(seen.argv).toEqual(['--action=suspend']);
    expect(seen.key).toBe('42/s/1/provision.suspend');
    const body = JSON.parse(seen.input);
    expect(body).toMatchObject({
      action: 'suspend',
      service: 'svc-1',
      case: '42',
      idempotencyKey: '42/s/1/provision.suspend',
    });
    // The reason travelled as data; no shell ever saw it.
    expect(body.reason).toBe(payload.reason);
  });

  it('exit 75 is retried, another exit code is permanent, a missing program is permanent', async () => {
    const temp = await adapter({ EXIT_WITH: '75' })
      .adapter.perform(outboxActionOf('provision.suspend', 'k', payload), contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(temp, 'AUP_ERR_ACTION_FAILED')).toBe(true);
    const perm = await adapter({ EXIT_WITH: '2' })
      .adapter.perform(outboxActionOf('provision.suspend', 'k', payload), contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(perm, 'AUP_ERR_ACTION_REJECTED')).toBe(true);
    expect((perm as Error).message).toMatch(/exit 2: cannot do that/);
    const missing = await new ProvisioningCommandAdapter({ argv: [path.join(dir, 'no-such-program')] })
      .perform(outboxActionOf('provision.suspend', 'k', payload), contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(missing, 'AUP_ERR_ACTION_REJECTED')).toBe(true);
  });

  it('a command that overruns its timeout is killed and retried', async () => {
    const error = await adapter({ EXIT_WITH: '0', SLEEP_MS: '5000' }, 300)
      .adapter.perform(outboxActionOf('provision.suspend', 'k', payload), contextOf('k'))
      .catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_ACTION_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/timed out after 300 ms/);
  });
});
