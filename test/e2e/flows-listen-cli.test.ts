import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_COLUMNS } from '../../src/registry/registry-row.js';
import {
  dataSet,
  FLOW_FIELDS,
  flowRecordBytes,
  netflowV9,
  sampledIpv4Record,
  sflowDatagram,
  sflowFlowSample,
  v9TemplateSet,
} from '../support/flow-packets.js';
import { type ServeProcess, serveEnv, spawnServe } from './serve-process.js';

/**
 * `aupdesk flows listen` as a process, no store: NetFlow v9 and sFlow datagrams on loopback, one JSON line
 * per detection on stdout with the keys, the collector's figures on stderr when it is stopped.
 */

let dir: string;
let registry: string;
const socket = dgram.createSocket('udp4');
const send = (bytes: Uint8Array, port: number) =>
  new Promise<void>((resolve, reject) =>
    socket.send(bytes, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-flows-cli-'));
  registry = path.join(dir, 'registry.csv');
  const row = (r: Record<string, string>) => ALL_COLUMNS.map((c) => r[c] ?? '').join(',');
  await writeFile(
    registry,
    [
      ALL_COLUMNS.join(','),
      row({
        customer: 'CUST-1',
        email: 'noc@one.example',
        service: 'VPS-1',
        kind: 'vps',
        resource: '198.51.100.0/24',
        valid_from: '2020-01-01',
      }),
      row({
        customer: 'CUST-2',
        email: 'noc@two.example',
        service: 'DED-2',
        kind: 'dedicated',
        resource: '203.0.113.0/24',
        valid_from: '2020-01-01',
      }),
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  socket.close();
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(proc: ServeProcess, test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${proc.stderr}`);
    if (proc.child.exitCode !== null) throw new Error(`exited (${proc.child.exitCode}): ${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('aupdesk flows listen', () => {
  it('prints one JSON line per detection as it happens', async () => {
    const proc = spawnServe(
      'flows',
      ['flows', 'listen', '--netflow-port', '0', '--sflow-port', '0', '--registry', registry, '--json'],
      serveEnv({ AUPDESK_DATA: dir }),
    );
    try {
      await waitFor(
        proc,
        () => /listening: NetFlow\/IPFIX on 127\.0\.0\.1:\d+, sFlow on 127\.0\.0\.1:\d+/.test(proc.stderr),
        'listening',
      );
      const [, nf, sf] = /NetFlow\/IPFIX on 127\.0\.0\.1:(\d+), sFlow on 127\.0\.0\.1:(\d+)/.exec(
        proc.stderr,
      )!;
      const sent = Date.now();
      await send(
        netflowV9([
          v9TemplateSet([{ id: 256, fields: FLOW_FIELDS }]),
          dataSet(
            256,
            Array.from({ length: 100 }, (_, i) =>
              flowRecordBytes({ src: '198.51.100.9', dst: `100.64.0.${i}`, dstPort: 23, tcpFlags: 0x02 }),
            ),
          ),
        ]),
        Number(nf),
      );
      // A flood sampled by sFlow: 1 in 2,000, 60 samples of 1,400-byte UDP from the dedicated server.
      const sample = sflowFlowSample(
        [
          sampledIpv4Record({
            src: '203.0.113.5',
            dst: '100.65.0.9',
            protocol: 17,
            dstPort: 443,
            length: 1400,
          }),
        ],
        { rate: 2000 },
      );
      await send(sflowDatagram(Array.from({ length: 60 }, () => sample)), Number(sf));
      await waitFor(proc, () => proc.stdout.trim().split('\n').length >= 2, 'two detections');
      const lines = proc.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const scan = lines.find((l) => l.detector === 'port-scan')!;
      expect(Object.keys(scan)).toEqual([
        'detector',
        'source.ip',
        'service',
        'customer',
        'window_start',
        'detected_at',
        'pps',
        'bps',
        'flows',
        'destinations',
      ]);
      expect(scan).toMatchObject({ 'source.ip': '198.51.100.9', service: 'VPS-1', customer: 'CUST-1' });
      expect(scan.destinations).toBeGreaterThanOrEqual(64);
      expect(Date.parse(scan.detected_at as string)).toBeGreaterThanOrEqual(sent - 1000);
      const flood = lines.find((l) => l.detector === 'dos')!;
      expect(flood).toMatchObject({ 'source.ip': '203.0.113.5', service: 'DED-2', customer: 'CUST-2' });
      // Reported when the first threshold is crossed: 800 Mbit/s towards one target (its default).
      expect(flood.bps).toBeGreaterThanOrEqual(800e6);
      // The running totals on SIGUSR2 (what the benchmark checks every flow sent against), still running.
      proc.child.kill('SIGUSR2');
      await waitFor(proc, () => /totals:/.test(proc.stderr), 'totals');
      expect(proc.stderr).toMatch(/aupdesk flows: totals: 2 datagrams, 160 flows, 0 malformed\n/);
      expect(proc.child.exitCode).toBeNull();
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    expect(proc.stderr).toMatch(/127\.0\.0\.1: 2 datagrams, 160 flows/);
    // Each socket's receive buffer: 32 MiB asked by default, and what the kernel granted.
    expect(proc.stderr).toMatch(/NetFlow\/IPFIX: receive buffer asked 33554432 bytes, kernel granted \d+/);
    expect(proc.stderr).toMatch(/sFlow: receive buffer asked 33554432 bytes, kernel granted \d+/);
  }, 90_000);

  it('refuses a receive buffer that is not a byte count', async () => {
    const proc = spawnServe(
      'flows-bad-buffer',
      ['flows', 'listen', '--netflow-port', '0', '--registry', registry, '--receive-buffer', '64M'],
      serveEnv({ AUPDESK_DATA: dir }),
    );
    expect(await proc.exited).not.toBe(0);
    expect(proc.stderr).toMatch(
      /--receive-buffer must be a number of bytes from 4096 to 2147483647, not "64M"/,
    );
  }, 60_000);

  it('refuses a registry file it cannot read, naming the line', async () => {
    const bad = path.join(dir, 'bad.csv');
    await writeFile(
      bad,
      `${ALL_COLUMNS.join(',')}\nCUST-1,noc@one.example,VPS-1,vps,not-a-prefix!,2020-01-01,\n`,
    );
    const proc = spawnServe(
      'flows-bad',
      ['flows', 'listen', '--netflow-port', '0', '--registry', bad, '--json'],
      serveEnv({ AUPDESK_DATA: dir }),
    );
    expect(await proc.exited).not.toBe(0);
    expect(proc.stderr).toMatch(/line 2/);
  }, 60_000);
});
