import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { AupError } from '../errors.js';

/**
 * Password hashing with scrypt (node:crypto), a fresh 16-byte salt per password and the cost parameters kept
 * in the hash string, so they can be raised later without invalidating stored hashes:
 * `scrypt$<N>$<r>$<p>$<salt b64url>$<hash b64url>`. Verification recomputes with the stored parameters and
 * compares in constant time.
 */

const KEY_LENGTH = 64;

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** N=2^15, r=8, p=1: ~32 MiB and some tens of milliseconds per hash (OWASP's scrypt minimum is N=2^17/r=8 at p=1 for 2023; 2^15 keeps login latency bounded on small machines). */
export const defaultScryptParams = { N: 1 << 15, r: 8, p: 1 } as const;

/** The cost test runs hash with: N=2^10, ~2 ms instead of ~77 ms per hash on the 2-core CI machine. */
export const testScryptParams = { N: 1 << 10, r: 8, p: 1 } as const;

/**
 * The parameters new hashes are made with. A test run (the test runner's NODE_ENV=test and the suite's
 * AUPDESK_TEST_PASSWORD_HASH=fast, vitest.config.ts) hashes cheaply: every account and login the suite makes
 * otherwise costs a full hash, some 350 of them, half a minute of CPU (Devise's test "stretches" are the same
 * idea). Both settings are needed, so one stray variable cannot weaken a production desk; and since each
 * hash names its own cost, verification is the same code either way.
 */
export function scryptParamsFor(env: NodeJS.ProcessEnv = process.env): ScryptParams {
  return env.NODE_ENV === 'test' && env.AUPDESK_TEST_PASSWORD_HASH === 'fast'
    ? testScryptParams
    : defaultScryptParams;
}

export const MIN_PASSWORD_LENGTH = 10;
export const MAX_PASSWORD_LENGTH = 1024;

export async function hashPassword(
  password: string,
  params: ScryptParams = scryptParamsFor(),
): Promise<string> {
  checkPasswordShape(password);
  const salt = randomBytes(16);
  const hash = await derive(password, salt, params);
  return [
    'scrypt',
    params.N,
    params.r,
    params.p,
    salt.toString('base64url'),
    hash.toString('base64url'),
  ].join('$');
}

/** True when `password` matches `stored`; false for any malformed stored value (never throws on input). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isSafeInteger(v) && v > 0)) return false;
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const salt = Buffer.from(parts[4]!, 'base64url');
  const expected = Buffer.from(parts[5]!, 'base64url');
  if (expected.length !== KEY_LENGTH) return false;
  const actual = await derive(password, salt, { N, r, p });
  return timingSafeEqual(actual, expected);
}

/**
 * A hash of nothing, verified against when the e-mail is unknown so a failed login takes as long whether
 * or not the account exists (no user enumeration by timing).
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummyHash;
}

export function checkPasswordShape(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `a password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long`,
      { details: { field: 'password' } },
    );
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFKC'),
      salt,
      KEY_LENGTH,
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}
