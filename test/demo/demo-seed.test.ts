import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { authenticateUser } from '../../src/accounts/user-repository.js';
import { loadConfig } from '../../src/config.js';
import { type DemoSeedResult, redate, seedDemo } from '../../src/demo/demo-seed.js';
import { startServe } from '../../src/server/serve.js';
import { openStore } from '../../src/store/database.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('redate', () => {
  it('moves the fixtures January 2026 dates to the given day, keeping times of day', () => {
    const day = new Date('2026-11-21T12:00:00Z'); // a Saturday
    const text = [
      'Date: Mon, 12 Jan 2026 09:15:02 -0500',
      'Arrival: 15 Jan 2026 06:00',
      '"2026-01-15 00:14:34","203.0.113.7"',
      'Jan 15 06:12:01 bastion sshd[21877]: Failed password',
      'Signed January 15, 2026',
    ].join('\n');
    expect(redate(text, day).split('\n')).toEqual([
      'Date: Sat, 21 Nov 2026 09:15:02 -0500',
      'Arrival: 21 Nov 2026 06:00',
      '"2026-11-21 00:14:34","203.0.113.7"',
      'Nov 21 06:12:01 bastion sshd[21877]: Failed password',
      'Signed November 21, 2026',
    ]);
  });
});

describe('seedDemo', () => {
  it('seeds logins that work and sample complaints that open cases; a second run adds nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-demo-'));
    const store = await openStore({ pgliteDir: 'memory://' });
    const results: DemoSeedResult[] = [];
    try {
      const handle = await startServe(
        { role: 'worker', policyDir: path.join(root, 'policies'), provider: 'iitgen' },
        {
          config: loadConfig({ AUPDESK_DATA: dir }),
          store,
          env: {},
          logger: pino({ level: 'silent' }),
          intervals: { workerPollMs: 3_600_000 },
          beforeListen: async (ctx) => {
            results.push(await seedDemo(ctx, { provider: 'iitgen', customers: 20 }));
            results.push(await seedDemo(ctx, { provider: 'iitgen', customers: 20 }));
          },
        },
      );
      await handle.stop();
      const [first, second] = results as [DemoSeedResult, DemoSeedResult];
      expect(first.logins.map((l) => l.role)).toEqual(['admin', 'analyst', 'customer']);
      for (const login of second.logins) {
        expect(await authenticateUser(store.db, login.email, login.password, new Date())).toBeDefined();
      }
      expect(first.complaints).toHaveLength(5);
      const withCases = first.complaints.filter((c) => c.caseRefs.length > 0);
      expect(withCases.map((c) => c.label)).toEqual(
        expect.arrayContaining(['ARF feedback report (mailbox provider)', 'DMCA notice']),
      );
      const anonymous = first.complaints.find((c) => c.channel === 'form');
      expect(anonymous?.note).toContain('anonymous');
      expect(second.complaints.map((c) => [c.inboxId, c.caseRefs])).toEqual(
        first.complaints.map((c) => [c.inboxId, c.caseRefs]),
      );
      const cases = await store.db.selectFrom('cases').select('id').execute();
      expect(cases.length).toBe(new Set(withCases.flatMap((c) => c.caseRefs)).size);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true, maxRetries: 5 });
    }
  }, 120_000);
});
