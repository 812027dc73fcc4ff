import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCliIsFresh } from '../support/built-cli.js';

/**
 * The README's main command as a new user runs it: the built CLI, `node bin/aupdesk.js serve --demo`, as a
 * child process on free ports with a fresh data directory. It must print where to go (and the demo logins),
 * answer /healthz and /aup, and exit cleanly (code 0) on SIGTERM.
 */

const root = path.resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('aupdesk serve --demo (built CLI, child process)', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';

  beforeAll(async () => {
    // The built CLI is what a user runs: build it from this checkout first, unless dist/ already holds a
    // build of the current sources (the README's test command and CI build before the tests).
    if (!builtCliIsFresh())
      await promisify(execFile)('npm', ['run', 'build'], { cwd: root, timeout: 240_000 });
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-cli-demo-'));
  }, 300_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });

  it('starts, prints the URLs and logins, serves /healthz and /aup, and exits 0 on SIGTERM', async () => {
    const [httpPort, smtpPort] = [await freePort(), await freePort()];
    const env: NodeJS.ProcessEnv = { ...process.env, AUPDESK_LOG_LEVEL: 'warn' };
    delete env.DATABASE_URL;
    delete env.AUPDESK_SMTP_HOST;
    child = spawn(
      process.execPath,
      [
        'bin/aupdesk.js',
        '--data',
        dir,
        'serve',
        '--demo',
        '--http-port',
        String(httpPort),
        '--smtp-port',
        String(smtpPort),
      ],
      { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    const deadline = Date.now() + 150_000;
    while (!stdout.includes('Stop with Ctrl-C.')) {
      if (child.exitCode !== null)
        throw new Error(`serve exited early (${child.exitCode}): ${stderr.slice(-2000)}`);
      if (Date.now() > deadline)
        throw new Error(`serve did not start in time: ${stdout}\n${stderr.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const base = `http://127.0.0.1:${httpPort}`;
    expect(stdout).toContain(`Published AUP:    ${base}/aup`);
    expect(stdout).toContain(`Complaint form:   ${base}/report`);
    expect(stdout).toContain(`Analyst console:  ${base}/console`);
    expect(stdout).toContain(`Customer portal:  ${base}/portal`);
    expect(stdout).toContain(`SMTP intake:      127.0.0.1:${smtpPort}`);
    expect(stdout).toMatch(/admin {4}admin@demo\.aupdesk\.example {2}\S{16}/);
    expect(stdout).toMatch(/customer customer@demo\.aupdesk\.example {2}\S{16}/);
    expect(stdout).toMatch(/R-\d+ ARF feedback report \(mailbox provider\): case AUP-\d{6}/);

    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const aup = await fetch(`${base}/aup`);
    expect(aup.status).toBe(200);
    expect(await aup.text()).toContain('iITGEN');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stdout).toContain('aupdesk: shutting down');
  }, 200_000);
});
