import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AupError } from '../errors.js';

/**
 * The desk secret: signs the public form's tokens and report status links, and derives the per-case reply
 * tokens of notices (enforcement/notices/reply-token.ts). AUPDESK_SECRET (at least 32 characters) when set;
 * else `<data>/secret`, made on first start (32 random bytes, base64url, mode 0600) and read on every later
 * start. Processes of one desk on several machines must share it: set AUPDESK_SECRET on each.
 */
export async function loadDeskSecret(dataDir: string, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const given = env.AUPDESK_SECRET;
  if (given) {
    if (given.length < 32)
      throw new AupError('AUP_ERR_CONFIG_INVALID', 'AUPDESK_SECRET must be at least 32 characters');
    return Buffer.from(given);
  }
  const file = path.join(dataDir, 'secret');
  const existing = await readSecretFile(file);
  if (existing) return existing;
  await mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  try {
    // `wx`: two parts of one process (or two processes) starting together must not each write their own.
    await writeFile(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const other = await readSecretFile(file);
    if (other) return other;
    throw new AupError(
      'AUP_ERR_CONFIG_INVALID',
      `${file} exists but holds no usable secret (at least 32 characters)`,
    );
  }
  return Buffer.from(secret);
}

async function readSecretFile(file: string): Promise<Buffer | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text.length >= 32 ? Buffer.from(text) : undefined;
  } catch {
    return undefined;
  }
}
