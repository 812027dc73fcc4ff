/**
 * The writer of the evidence crash test (evidence-crash.test.ts spawns it with `node --import tsx`): puts
 * distinct blobs (`blobFor(i)`) into an evidence store at CRASH_EVIDENCE_DIR, 20 at a time, and prints
 * `ACK <i>` as soon as each `put` resolves, until it is killed. The first 100 go in a burst followed by a
 * pause (so the background copier runs and some blobs reach the blob tree before the kill); the rest keep
 * coming without pause (they stay in the journal).
 */
import { EvidenceStore } from '../../src/intake/evidence-store.js';

export function blobFor(i: number): Uint8Array {
  return new TextEncoder().encode(
    `From: reporter${i}@example.net\r\nSubject: crash ${i}\r\n\r\n${'evidence line\r\n'.repeat(1 + (i % 40))}`,
  );
}

async function burst(store: EvidenceStore, from: number, to: number): Promise<void> {
  let next = from;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < to) {
        const i = next++;
        await store.put(blobFor(i));
        process.stdout.write(`ACK ${i}\n`);
      }
    }),
  );
}

if (process.env.CRASH_EVIDENCE_DIR) {
  const store = new EvidenceStore(process.env.CRASH_EVIDENCE_DIR, { copyQuietMs: 10 });
  await burst(store, 0, 100);
  await new Promise((r) => setTimeout(r, 300));
  await burst(store, 100, 1_000_000);
}
