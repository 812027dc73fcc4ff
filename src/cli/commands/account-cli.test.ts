import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliBackend, cliBackends, runCli } from '../../../test/support/cli-backends.js';
import { principalForApiKey } from '../../accounts/api-key-repository.js';
import { authenticateUser } from '../../accounts/user-repository.js';
import { createCustomer } from '../../registry/registry-repository.js';
import type { Store } from '../../store/database.js';

/**
 * `aupdesk apikey` and `aupdesk user` through main(), against a durable store each backend's CLI opens:
 * a PGlite data directory, or a PostgreSQL schema named through DATABASE_URL's search_path.
 */

// Every call reads standard input (empty unless the test gives some), as a piped `aupdesk` would.
const run = (backend: CliBackend, args: string[], stdin = '') =>
  runCli(backend.env, backend.dataDir, args, stdin);

const backendsReady = cliBackends('aupdesk-account-cli-', { holdOpen: true });

describe('aupdesk apikey and user', async () => {
  const backends = await backendsReady;
  afterAll(async () => {
    await rm(backends[0]!.dataDir, { recursive: true, force: true, maxRetries: 5 });
  });

  for (const backend of backends) {
    describe(backend.name, () => {
      let store: Store;
      beforeAll(async () => {
        store = await backend.open();
        await createCustomer(store.db, { ref: `CUST-${backend.name}`, name: 'Bound Customer' });
        await store.close();
      });

      it('apikey create prints the key alone on stdout, once, and the key works', async () => {
        const res = await run(backend, ['apikey', 'create', '--role', 'analyst', '--name', 'siem']);
        expect(res.code).toBe(0);
        expect(res.out).toMatch(/^aupk_[A-Za-z0-9_-]{43}\n$/);
        expect(res.err).toMatch(/shown only now/);
        const key = res.out.trim();
        const s = await backend.open();
        try {
          expect(await principalForApiKey(s.db, key, new Date())).toMatchObject({
            role: 'analyst',
            kind: 'apikey',
          });
        } finally {
          await s.close();
        }
        const list = await run(backend, ['apikey', 'list']);
        expect(list.out).toContain(key.slice(0, 13));
        expect(list.out).not.toContain(key);
      });

      it('apikey create binds a customer key to the customer named by its reference, and refuses unknown ones', async () => {
        const ok = await run(backend, [
          'apikey',
          'create',
          '--role',
          'customer',
          '--customer',
          `CUST-${backend.name}`,
        ]);
        expect(ok.code).toBe(0);
        const missing = await run(backend, ['apikey', 'create', '--role', 'customer']);
        expect(missing.code).toBe(2);
        expect(missing.err).toMatch(/customer role needs a customer/);
        const unknown = await run(backend, ['apikey', 'create', '--role', 'customer', '--customer', 'NOPE']);
        expect(unknown.code).toBe(2);
        expect(unknown.err).toMatch(/no customer "NOPE"/);
        const badRole = await run(backend, ['apikey', 'create', '--role', 'root']);
        expect(badRole.code).toBe(2);
        expect(badRole.err).toMatch(/--role must be one of/);
      });

      it('apikey revoke stops a key working', async () => {
        const key = (await run(backend, ['apikey', 'create', '--role', 'reporter'])).out.trim();
        const revoked = await run(backend, ['apikey', 'revoke', key.slice(0, 13)]);
        expect(revoked.code).toBe(0);
        const s = await backend.open();
        try {
          expect(await principalForApiKey(s.db, key, new Date())).toBeUndefined();
        } finally {
          await s.close();
        }
      });

      it('user add --password-stdin creates a user who can log in; the password never appears in argv', async () => {
        const email = `Ana.Lyst+${backend.name}@Example.NET`;
        const res = await run(
          backend,
          ['user', 'add', '--email', email, '--role', 'analyst', '--password-stdin'],
          'a long enough secret\n',
        );
        expect(res.code).toBe(0);
        expect(res.out).toContain(`added user ${email.toLowerCase()}`);
        const s = await backend.open();
        try {
          expect(await authenticateUser(s.db, email, 'a long enough secret', new Date())).toMatchObject({
            role: 'analyst',
          });
          expect(await authenticateUser(s.db, email, 'wrong secret!!', new Date())).toBeUndefined();
        } finally {
          await s.close();
        }
        const again = await run(backend, ['user', 'add', '--email', email, '--role', 'analyst']);
        expect(again.code).toBe(2);
        expect(again.err).toMatch(/already exists/);
      });

      it('user add refuses a short password and a customer user without a customer', async () => {
        const short = await run(
          backend,
          [
            'user',
            'add',
            '--email',
            `short-${backend.name}@example.net`,
            '--role',
            'reporter',
            '--password-stdin',
          ],
          'short\n',
        );
        expect(short.code).toBe(2);
        expect(short.err).toMatch(/10 to 1024 characters/);
        const unbound = await run(backend, [
          'user',
          'add',
          '--email',
          `c-${backend.name}@example.net`,
          '--role',
          'customer',
        ]);
        expect(unbound.code).toBe(2);
      });
    });
  }
});
