import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { MailNoticeAdapter, type NoticeDirectory } from '../../src/actions/mail-notice-adapter.js';
import { createSmtpSender } from '../../src/actions/mail-transport.js';
import { memoryAckRateLimiter, ReporterAckAdapter } from '../../src/actions/reporter-ack-adapter.js';
import { openCaseState } from '../../src/cases/case-state.js';
import { nextStep } from '../../src/enforcement/ladder-engine.js';
import type { AckPayload } from '../../src/enforcement/notices/ack-decision.js';
import { SmtpIntakeServer } from '../../src/intake/channels/smtp-intake-server.js';
import { EvidenceStore } from '../../src/intake/evidence-store.js';
import { InboxCommitter } from '../../src/intake/inbox/inbox-accept.js';
import { DEFAULT_LOOP_TOKEN, loopToken } from '../../src/intake/mail-loop.js';
import { iitgen, spamClause } from '../enforcement/seed-ladders.js';
import { describeEachBackend } from '../support/store-backends.js';
import { contextOf, fromPlanned, outboxActionOf } from './action-support.js';

/**
 * Our own mail, come back: a notice and an acknowledgement sent by the real adapters through nodemailer to
 * the desk's own SMTP intake on loopback (a customer's forwarding rule, a reporter's auto-forward) must be
 * recorded as `loop`, never taken in as a complaint. The acknowledgement carries no X-Aupdesk-Case, so it
 * is the X-Loop token alone that gives it away: what the adapters send is what the intake recognises.
 */

const DESK = 'desk.example.net';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-loop-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

const directory: NoticeDirectory = {
  // The customer's notice address forwards to our abuse@ mailbox.
  async recipientFor() {
    return { email: `abuse@${DESK}`, name: 'Forwarding Customer' };
  },
  async evidenceFor() {
    return [];
  },
};

function firstNotice() {
  const state = openCaseState({
    caseId: '7',
    customerId: 'cust-1',
    serviceId: 'svc-1',
    openedAt: new Date('2026-03-02T09:00:00Z'),
    clauses: [spamClause],
    addresses: ['192.0.2.10/32'],
  });
  const notice = nextStep(state, iitgen, new Date('2026-03-02T09:00:00Z')).actions.find(
    (a) => a.kind === 'mail.notice',
  );
  if (!notice) throw new Error('the iITGEN ladder planned no notice');
  return notice;
}

const ack = (reporter: string): AckPayload => ({
  outcome: 'case-opened',
  reporter: { email: reporter },
  caseId: '7',
  receivedAt: '2026-03-02T09:00:00.000Z',
  original: { messageId: '<r1@reporter.example>', subject: 'spam', headers: {}, feed: false },
});

describeEachBackend('outgoing mail fed back into intake', (ctx) => {
  let server: SmtpIntakeServer;
  let port: number;
  let evidence: EvidenceStore;
  const savedEnv = { token: process.env.AUPDESK_LOOP_TOKEN, from: process.env.AUPDESK_MAIL_FROM };

  beforeEach(async () => {
    await sql`delete from intake_inbox`.execute(ctx.store.db);
    evidence = new EvidenceStore(await mkdtemp(path.join(dir, 'ev-')));
    const deps = {
      db: ctx.store.db,
      evidence,
      committer: new InboxCommitter(ctx.store.db),
    };
    // No loopToken option: the server's default must be the adapters' default.
    server = new SmtpIntakeServer(deps, { port: 0, serverName: DESK });
    port = await server.listen();
  });
  afterEach(async () => {
    await server.close();
    for (const [name, value] of [
      ['AUPDESK_LOOP_TOKEN', savedEnv.token],
      ['AUPDESK_MAIL_FROM', savedEnv.from],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  function adapters() {
    const sender = createSmtpSender({
      host: '127.0.0.1',
      port,
      secure: false,
      requireTls: false,
      from: `"Abuse desk" <abuse@${DESK}>`,
      messageIdDomain: DESK,
      timeoutMs: 10_000,
    });
    const notice = new MailNoticeAdapter({
      sender,
      directory,
      from: `"Abuse desk" <abuse@${DESK}>`,
      replyTo: `abuse@${DESK}`,
      messageIdDomain: DESK,
    });
    const acknowledgement = new ReporterAckAdapter({
      sender,
      from: `"Abuse desk" <abuse@${DESK}>`,
      providerName: 'Example',
      messageIdDomain: DESK,
      // The reporter's mailbox is another abuse@ that forwards to ours: not one of our addresses.
      policy: { ownAddresses: [`abuse@${DESK}`], ownDomains: [DESK] },
      rateLimiter: memoryAckRateLimiter({ max: 100 }),
    });
    return { sender, notice, acknowledgement };
  }

  const inbox = () =>
    ctx.store.db.selectFrom('intake_inbox').select(['kind', 'evidence_sha256']).orderBy('id').execute();

  it('a notice and an acknowledgement we sent come back as loops, by the X-Loop token we stamped', async () => {
    delete process.env.AUPDESK_LOOP_TOKEN;
    delete process.env.AUPDESK_MAIL_FROM;
    const { sender, notice, acknowledgement } = adapters();
    try {
      const planned = firstNotice();
      await notice.perform(fromPlanned(planned) as never, contextOf(planned.idempotencyKey));
      const sent = await acknowledgement.perform(
        outboxActionOf('mail.ack', 'report:1:ack', ack('abuse@reporter.example')),
        contextOf('report:1:ack'),
      );
      expect(sent).toMatchObject({ outcome: 'case-opened' });
    } finally {
      sender.close();
    }
    const rows = await inbox();
    expect(rows.map((r) => r.kind)).toEqual(['loop', 'loop']);
    // What was stored is what was sent: the header is there, with the token the intake compares.
    expect(loopToken()).toBe(DEFAULT_LOOP_TOKEN);
    for (const row of rows) {
      const raw = Buffer.from(await evidence.get(row.evidence_sha256)).toString('utf8');
      expect(raw).toMatch(/^X-Loop: aupdesk\r?$/m);
      expect(raw).toMatch(/^Auto-Submitted: auto-(generated|replied)\r?$/m);
    }
  });

  it('a configured token is the one stamped and the one recognised; another desk’s token is a complaint', async () => {
    process.env.AUPDESK_LOOP_TOKEN = 'desk-7f3a@desk.example.net';
    const { sender, acknowledgement } = adapters();
    // Another aupdesk (an upstream provider) acknowledging a report to our abuse@: its token is not ours.
    const upstream = new ReporterAckAdapter({
      sender,
      from: 'abuse@upstream.example',
      providerName: 'Upstream',
      messageIdDomain: 'upstream.example',
      policy: { ownAddresses: ['abuse@upstream.example'], ownDomains: ['upstream.example'] },
      rateLimiter: memoryAckRateLimiter({ max: 100 }),
      loopToken: 'abuse@upstream.example',
    });
    try {
      await acknowledgement.perform(
        outboxActionOf('mail.ack', 'report:2:ack', ack('abuse@reporter.example')),
        contextOf('report:2:ack'),
      );
      await upstream.perform(
        outboxActionOf('mail.ack', 'report:9:ack', ack(`abuse@${DESK}`)),
        contextOf('report:9:ack'),
      );
    } finally {
      sender.close();
    }
    const rows = await inbox();
    expect(rows.map((r) => r.kind)).toEqual(['loop', 'complaint']);
    const ours = Buffer.from(await evidence.get(rows[0]!.evidence_sha256)).toString('utf8');
    expect(ours).toMatch(/^X-Loop: desk-7f3a@desk\.example\.net\r?$/m);
  });
});
