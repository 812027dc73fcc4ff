import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EvidenceStore, sha256Hex } from '../../src/intake/evidence-store.js';
import { blobFor } from './evidence-crash-child.js';

/**
 * `kill -9` of a process in the middle of a stream of concurrent evidence puts: every blob whose `put` had
 * resolved (the moment a channel would answer `250`) is readable with its exact bytes by the next store
 * opened on the directory, which replays the dead writer's journal into the blob tree and then deletes it.
 */

const CHILD = fileURLToPath(new URL('./evidence-crash-child.ts', import.meta.url));
const KILL_AFTER = 400;

describe('evidence store crash', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('keeps every acknowledged blob across kill -9 and replays the journal into the blob tree', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-evidence-crash-'));
    dirs.push(dir);
    const root = path.join(dir, 'evidence');
    const acked = await runAndKill(root);
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const journal = path.join(root, '.journal');
    expect(readdirSync(journal).filter((n) => n.endsWith('.evj')).length).toBeGreaterThan(0);
    const store = new EvidenceStore(root);
    // Readable at once, before the replay has copied them (some reached the tree before the kill).
    for (const i of acked) {
      const bytes = blobFor(i);
      expect(Buffer.from(await store.get(sha256Hex(bytes))).equals(Buffer.from(bytes))).toBe(true);
    }
    const copiedBefore = acked.filter((i) => existsSync(store.pathFor(sha256Hex(blobFor(i))))).length;
    expect(copiedBefore).toBeGreaterThan(0);
    expect(copiedBefore).toBeLessThan(acked.length);

    // The dead writer's segments are replayed and then deleted.
    await store.drain();
    for (const i of acked) expect(existsSync(store.pathFor(sha256Hex(blobFor(i))))).toBe(true);
    expect(readdirSync(journal)).toEqual([]);
    // A re-sent message is recognised as already stored.
    expect((await store.put(blobFor(acked[0]!))).duplicate).toBe(true);
    await store.close();
  }, 60_000);
});

/** Run the writer until it has acknowledged KILL_AFTER blobs, SIGKILL it, and return every index it acknowledged. */
function runAndKill(root: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, CRASH_EVIDENCE_DIR: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (!killed && (out.match(/^ACK /gm)?.length ?? 0) >= KILL_AFTER) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.once('close', (_code, signal) => {
      if (signal !== 'SIGKILL') {
        reject(new Error(`writer exited on its own (${signal}): ${err.slice(-2000)}`));
        return;
      }
      // Only complete lines: a line cut by the kill was never fully acknowledged.
      const lines = out.split('\n').slice(0, -1);
      resolve(lines.filter((l) => /^ACK \d+$/.test(l)).map((l) => Number(l.slice(4))));
    });
  });
}
