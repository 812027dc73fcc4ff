import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';

/**
 * A private Dovecot IMAP server for tests: its own config, passwd file, maildir and sockets in a temp
 * directory, listening on 127.0.0.1 at a free port; nothing system-wide is read or changed (`-c` names our
 * config, base_dir/state_dir/log_path are ours). `dovecot-imapd` is installed with apt-get when missing
 * (CI installs it in scripts/ci-extras.sh); `available()` says why not when it cannot be.
 */

const DOVECOT = '/usr/sbin/dovecot';

export function ensureDovecot(): { ok: true } | { ok: false; reason: string } {
  if (existsSync(DOVECOT)) return { ok: true };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'dovecot-imapd'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
    });
  } catch {
    try {
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', timeout: 300_000 });
      execFileSync('apt-get', ['install', '-y', '-qq', 'dovecot-imapd'], {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        timeout: 300_000,
      });
    } catch (error) {
      return { ok: false, reason: `dovecot-imapd is not installed and apt-get failed: ${String(error)}` };
    }
  }
  return existsSync(DOVECOT)
    ? { ok: true }
    : { ok: false, reason: 'dovecot-imapd installed but /usr/sbin/dovecot missing' };
}

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

export interface Dovecot {
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Put a message into a folder (INBOX by default) by IMAP APPEND. */
  deliver(message: string, folder?: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startDovecot(): Promise<Dovecot> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-dovecot-'));
  const port = await freePort();
  const user = 'abuse';
  const password = 'intake-test-password';
  // Dovecot never runs a mail process as root: as root we hand the maildir to nobody/nogroup.
  const uid = process.getuid?.() || 65534;
  const gid = process.getuid?.() === 0 ? 65534 : (process.getgid?.() ?? 65534);
  for (const d of ['run', 'state', 'home']) await mkdir(path.join(dir, d), { recursive: true });
  await mkdir(path.join(dir, 'home', user), { recursive: true });
  await chown(path.join(dir, 'home', user), uid, gid);
  // Dovecot's auth process runs as its own user: it must be able to reach and read the passwd file (a
  // throw-away test password).
  await chmod(dir, 0o755);
  await writeFile(path.join(dir, 'passwd'), `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
  const conf = `
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
last_valid_uid = 0
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
}
`;
  await writeFile(path.join(dir, 'dovecot.conf'), conf);
  const child: ChildProcess = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], {
    stdio: 'ignore',
  });
  // Ready when the port answers with a greeting.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (await answers(port)) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      const log = await readFile(path.join(dir, 'dovecot.log'), 'utf8').catch(() => '');
      throw new Error(`dovecot did not start on 127.0.0.1:${port}: ${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    user,
    password,
    async deliver(message: string, folder = 'INBOX') {
      const client = new ImapFlow({
        host: '127.0.0.1',
        port,
        secure: false,
        auth: { user, pass: password },
        logger: false,
      });
      await client.connect();
      try {
        if (folder !== 'INBOX') await client.mailboxCreate(folder).catch(() => undefined);
        await client.append(folder, message.replace(/\r?\n/g, '\r\n'));
      } finally {
        await client.logout();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

async function answers(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(1_000);
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('* OK'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
