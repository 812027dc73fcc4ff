import { describe, expect, it } from 'vitest';
import {
  defaultScryptParams,
  hashPassword,
  scryptParamsFor,
  testScryptParams,
  verifyPassword,
} from './password-hasher.js';

describe('password hasher', () => {
  it('hashes at the production cost unless both test settings are present', () => {
    expect(scryptParamsFor({})).toEqual(defaultScryptParams);
    expect(scryptParamsFor({ AUPDESK_TEST_PASSWORD_HASH: 'fast' })).toEqual(defaultScryptParams);
    expect(scryptParamsFor({ NODE_ENV: 'production', AUPDESK_TEST_PASSWORD_HASH: 'fast' })).toEqual(
      defaultScryptParams,
    );
    expect(scryptParamsFor({ NODE_ENV: 'test' })).toEqual(defaultScryptParams);
    expect(scryptParamsFor({ NODE_ENV: 'test', AUPDESK_TEST_PASSWORD_HASH: 'yes' })).toEqual(
      defaultScryptParams,
    );
    expect(scryptParamsFor({ NODE_ENV: 'test', AUPDESK_TEST_PASSWORD_HASH: 'fast' })).toEqual(
      testScryptParams,
    );
  });

  it('verifies a hash of either cost, since each hash names its own', async () => {
    const strong = await hashPassword('correct horse battery', defaultScryptParams);
    const cheap = await hashPassword('correct horse battery', testScryptParams);
    expect(strong).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(cheap).toMatch(/^scrypt\$1024\$8\$1\$/);
    for (const stored of [strong, cheap]) {
      expect(await verifyPassword('correct horse battery', stored)).toBe(true);
      expect(await verifyPassword('correct horse battery!', stored)).toBe(false);
    }
  });

  it('refuses malformed stored values without throwing', async () => {
    for (const stored of [
      '',
      'scrypt$1$2$3',
      'bcrypt$x$y$z$a$b',
      'scrypt$0$8$1$AA$BB',
      'scrypt$a$8$1$AA$BB',
    ]) {
      expect(await verifyPassword('correct horse battery', stored)).toBe(false);
    }
  });
});
