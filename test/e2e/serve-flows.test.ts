import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { AuthorisationCheck } from '../../src/detect/detection-reporter.js';
import { parseRegistryCsv } from '../../src/registry/registry-file-parser.js';
import { importRegistry } from '../../src/registry/registry-import.js';
import { ALL_COLUMNS } from '../../src/registry/registry-row.js';
import { type ServeHandle, startServe } from '../../src/server/serve.js';
import {
  dataSet,
  ethernetFrame,
  FLOW_FIELDS,
  flowRecordBytes,
  ipfix,
  ipfixTemplateSet,
  netflowV5,
  netflowV9,
  rawHeaderRecord,
  sflowDatagram,
  sflowFlowSample,
  v9TemplateSet,
} from '../support/flow-packets.js';

/**
 * Flows on loopback into a running desk (`serve --netflow-port 0 --sflow-port 0`): each detector's attack
 * becomes an event on the `detection` channel, attributed to the service holding the address, judged under
 * the customer's accepted policy, and a case under the seed clause the issue names:
 *   Injazat "Port scans" (NetFlow v9), INFINCE "Denial of Service" (IPFIX), iITGEN "IP addresses not
 *   assigned" (sFlow, from a customer-facing interface), Injazat "Increases in outgoing email" (NetFlow v5).
 * A scan that goes on updates its case; a scan inside a recorded authorisation opens none.
 */

const row = (r: Record<string, string>) => ALL_COLUMNS.map((c) => r[c] ?? '').join(',');
const customer = (
  ref: string,
  service: string,
  kind: string,
  resource: string,
  provider: string,
  version: string,
) =>
  row({
    customer: ref,
    email: `noc@${ref.toLowerCase()}.example`,
    service,
    kind,
    resource,
    valid_from: '2020-01-01T00:00:00Z',
    policy_provider: provider,
    policy_version: version,
    policy_accepted_at: version,
  });
const REGISTRY = [
  ALL_COLUMNS.join(','),
  customer('C-INJ', 'S-INJ', 'vps', '198.51.100.0/26', 'injazat', '2026-11-22'),
  customer('C-INF', 'S-INF', 'dedicated', '198.51.100.64/26', 'infince', '2019-08-01'),
  customer('C-IIT', 'S-IIT', 'colocation', '198.51.100.128/26', 'iitgen', '2018-02-24'),
  '',
].join('\n');

const authorisations: AuthorisationCheck = {
  // PT-1: S-INJ may test from 198.51.100.12 (any target, today).
  async covering(q) {
    return q.serviceRef === 'S-INJ' && q.sourceIp === '198.51.100.12' ? { id: '1', reference: 'PT-1' } : null;
  },
};

const socket = dgram.createSocket('udp4');
const send = (bytes: Uint8Array, port: number) =>
  new Promise<void>((resolve, reject) =>
    socket.send(bytes, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
  );
const dirs: string[] = [];
const desks: ServeHandle[] = [];

/** A desk serving one provider (a desk judges under its provider's policy versions). */
async function startFlowDesk(provider: string): Promise<ServeHandle> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-flows-'));
  dirs.push(dir);
  const flowsConfig = path.join(dir, 'flows.yaml');
  await writeFile(
    flowsConfig,
    [
      'realert_seconds: 1',
      'interfaces:',
      '  - { exporter: 127.0.0.1, if_index: 42, service: S-IIT }',
      '',
    ].join('\n'),
  );
  const desk = await startServe(
    {
      host: '127.0.0.1',
      httpPort: 0,
      smtpPort: 0,
      netflowPort: 0,
      sflowPort: 0,
      flowsConfig,
      policyDir: path.resolve('policies'),
      provider,
    },
    {
      config: loadConfig({ AUPDESK_DATA: dir }),
      env: { AUPDESK_SECRET: 'a-flows-e2e-form-secret-of-at-least-32-chars' },
      logger: pino({ level: 'silent' }),
      intervals: { inboxPollMs: 100, workerPollMs: 3_600_000, registryMs: 60_000 },
      http: { rateLimits: false, secureCookies: false },
      authorisations,
      beforeListen: async (ctx) => {
        const summary = await importRegistry(ctx.store.db, parseRegistryCsv(REGISTRY));
        if (summary.failed > 0) throw new Error(JSON.stringify(summary.errors));
        await ctx.registry.refresh();
      },
    },
  );
  desks.push(desk);
  return desk;
}

afterAll(async () => {
  socket.close();
  for (const desk of desks) await desk.stop();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

type CaseRow = { id: number; customer_ref: string; clause_id: string };
async function casesUntil(desk: ServeHandle, predicate: (rows: CaseRow[]) => boolean): Promise<CaseRow[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await desk.flows!.reporter.idle();
    await desk.runOnce();
    const rows = await desk.store.db
      .selectFrom('cases')
      .select(['id', 'customer_ref', 'clause_id'])
      .orderBy('id')
      .execute();
    if (predicate(rows) || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const scanPacket = (src: string, from: number) =>
  netflowV9([
    v9TemplateSet([{ id: 256, fields: FLOW_FIELDS }]),
    dataSet(
      256,
      Array.from({ length: 100 }, (_, i) =>
        flowRecordBytes({
          src,
          dst: `100.64.${(from + i) >> 8}.${(from + i) & 255}`,
          dstPort: 22,
          tcpFlags: 0x02,
          packets: 1,
          bytes: 60,
        }),
      ),
    ),
  ]);

describe('flows into the desk', () => {
  it('Injazat: a port scan (NetFlow v9) and an outgoing-mail burst (NetFlow v5) open cases under "Port scans" and "Increases in outgoing email"; a running scan updates its case; an authorised test opens none', async () => {
    const desk = await startFlowDesk('injazat');
    const nf = desk.flows!.netflow!.port;
    await send(scanPacket('198.51.100.10', 0), nf);
    await send(scanPacket('198.51.100.12', 0), nf);
    // 300 SMTP flows to 300 servers from a VPS whose baseline is 20 a window.
    for (let p = 0; p < 10; p++) {
      await send(
        netflowV5(
          Array.from({ length: 30 }, (_, i) => ({
            src: '198.51.100.11',
            dst: `100.67.${p}.${i}`,
            dstPort: 25,
            tcpFlags: 0x1b,
          })),
        ),
        nf,
      );
    }
    const expected = [
      ['C-INJ', 'port-scans'],
      ['C-INJ', 'spam.outgoing-mail-increase'],
    ];
    const rows = await casesUntil(desk, (r) => r.length >= 2);
    expect(rows.map((r) => [r.customer_ref, r.clause_id]).sort()).toEqual(expected);

    // The scan goes on (after the re-alert period): the same case takes the new event.
    await new Promise((r) => setTimeout(r, 1200));
    await send(scanPacket('198.51.100.10', 1000), nf);
    const scanCase = rows.find((r) => r.clause_id === 'port-scans')!;
    const deadline = Date.now() + 20_000;
    let events = 0;
    while (Date.now() < deadline) {
      await desk.flows!.reporter.idle();
      await desk.runOnce();
      const n = await desk.store.db
        .selectFrom('case_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('case_id', '=', scanCase.id)
        .executeTakeFirstOrThrow();
      events = Number(n.n);
      if (events >= 2) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(events).toBe(2);
    const after = await desk.store.db.selectFrom('cases').select(['clause_id']).execute();
    expect(after.filter((r) => r.clause_id === 'port-scans')).toHaveLength(1);

    // The authorised scan: kept as an `authorised` inbox item with its evidence; no case, no event.
    const inbox = await desk.store.db
      .selectFrom('intake_inbox')
      .select(['kind', 'channel', 'route'])
      .execute();
    expect(inbox.filter((i) => i.kind === 'authorised')).toEqual([
      { kind: 'authorised', channel: 'detection', route: 'flows' },
    ]);
    const authorisedEvents = await desk.store.db
      .selectFrom('case_events')
      .select('id')
      .where('source_ip', '=', '198.51.100.12')
      .execute();
    expect(authorisedEvents).toEqual([]);

    // The event carries the detector as feed.name and the window's figures; the mail burst is marked for review.
    const events2 = await desk.store.db.selectFrom('case_events').select(['event', 'case_id']).execute();
    const parsed = events2.map(
      (e) => (typeof e.event === 'string' ? JSON.parse(e.event) : e.event) as Record<string, unknown>,
    );
    const scan = parsed.find((e) => e['feed.name'] === 'port-scan')!;
    expect((scan.extra as Record<string, unknown>).service).toBe('S-INJ');
    const burst = parsed.find((e) => e['feed.name'] === 'smtp-burst')!;
    expect((burst.extra as Record<string, unknown>).review).toBe(true);

    // /metrics counts per exporter; a malformed datagram is counted and dropped.
    await send(new Uint8Array([0, 9, 0, 1, 2, 3]), nf);
    await new Promise((r) => setTimeout(r, 100));
    const metrics = await desk.http!.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/aupdesk_flow_records_total\{exporter="127\.0\.0\.1"\} \d+/);
    expect(metrics.body).toMatch(
      /aupdesk_flow_dropped_total\{exporter="127\.0\.0\.1",reason="truncated"\} 1/,
    );
    expect(metrics.body).toMatch(/aupdesk_flow_detections_total\{outcome="authorised"\} 1/);
  }, 90_000);

  it('INFINCE: a flood (IPFIX) opens a case under "Denial of Service (DoS)"', async () => {
    const desk = await startFlowDesk('infince');
    await send(
      ipfix([
        ipfixTemplateSet([{ id: 300, fields: FLOW_FIELDS.map(([a, b]) => [a, b] as const) }]),
        dataSet(
          300,
          Array.from({ length: 5 }, () =>
            flowRecordBytes({
              src: '198.51.100.70',
              dst: '100.65.0.1',
              protocol: 17,
              dstPort: 80,
              packets: 50_000,
              bytes: 50_000 * 512,
            }),
          ),
        ),
      ]),
      desk.flows!.netflow!.port,
    );
    const rows = await casesUntil(desk, (r) => r.length >= 1);
    expect(rows.map((r) => [r.customer_ref, r.clause_id])).toEqual([['C-INF', 'network.denial-of-service']]);
  }, 90_000);

  it('iITGEN: an unassigned source entering by a customer interface (sFlow) opens a case under "Only the IP addresses iITGEN assigns"', async () => {
    const desk = await startFlowDesk('iitgen');
    // 1 in 100 sampling: two samples stand for 200 packets from 203.0.113.9, which nobody holds.
    const spoofed = rawHeaderRecord(
      ethernetFrame({ src: '203.0.113.9', dst: '100.66.0.1', protocol: 17, dstPort: 53 }),
      80,
    );
    await send(
      sflowDatagram([
        sflowFlowSample([spoofed], { rate: 100, input: 42 }),
        sflowFlowSample([spoofed], { rate: 100, input: 42 }),
      ]),
      desk.flows!.sflow!.port,
    );
    const rows = await casesUntil(desk, (r) => r.length >= 1);
    expect(rows.map((r) => [r.customer_ref, r.clause_id])).toEqual([['C-IIT', 'network.assigned-ip-only']]);
    const event = await desk.store.db
      .selectFrom('case_events')
      .select(['source_ip', 'event'])
      .executeTakeFirstOrThrow();
    expect(event.source_ip).toBe('203.0.113.9');
  }, 90_000);
});
