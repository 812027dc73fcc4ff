import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/store-backends.js';
import { notifyWork } from './database.js';

/**
 * Cross-process wake-ups: a transaction that ran `notifyWork` wakes every `listenForWork` listener when it
 * commits (PostgreSQL LISTEN/NOTIFY), and never when it rolls back. On the embedded store, held by one
 * process, nobody is called: that process's stages wake each other directly.
 */

describeEachBackend('work notifications', (ctx) => {
  it('wake listeners at commit, not at rollback, and stop when told', async () => {
    const store = ctx.store;
    let calls = 0;
    const stop = await store.listenForWork(() => {
      calls += 1;
    });
    const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
    await store.db.transaction().execute(async (trx) => {
      await notifyWork(trx);
      await settle();
      // Not before the commit.
      expect(calls).toBe(0);
    });
    await settle();
    expect(calls).toBe(store.kind === 'postgres' ? 1 : 0);

    await store.db
      .transaction()
      .execute(async (trx) => {
        await notifyWork(trx);
        throw new Error('rolled back');
      })
      .catch(() => undefined);
    await settle();
    expect(calls).toBe(store.kind === 'postgres' ? 1 : 0);

    await stop();
    await store.db.transaction().execute((trx) => notifyWork(trx));
    await settle();
    expect(calls).toBe(store.kind === 'postgres' ? 1 : 0);
  });
});
