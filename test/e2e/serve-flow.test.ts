import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/accounts/api-key-repository.js';
import { caseRefOf } from '../../src/cases/case-ref.js';
import { FORM_COOKIE } from '../../src/server/public/form-token.js';
import { auditVerify, CUSTOMER, complaintMail, type Desk, startDesk, stopDesk } from './e2e-support.js';

/**
 * The desk end to end through real sockets on loopback, once per way in: a complaint sent over SMTP, posted
 * to the JSON API with an API key, and sent through the public form. Each time: evidence stored → parsed →
 * attributed → case → notice delivered to the SMTP sink → clock moved past the 7-day cure deadline →
 * suspension webhook received with a valid HMAC → `aupdesk audit verify` passes on the same store.
 */

const START = '2026-11-20T09:00:00.000Z';
const DAY = 86_400_000;
const backends = [
  { name: 'pglite', postgres: false },
  ...(process.env.DATABASE_URL ? [{ name: 'postgres', postgres: true }] : []),
];

for (const backend of backends) {
  describe(`serve end to end [${backend.name}]`, () => {
    let desk: Desk | undefined;
    afterEach(async () => {
      await stopDesk(desk);
      desk = undefined;
    });

    async function followThrough(d: Desk, ip: string): Promise<void> {
      // Parsed, attributed, judged, a case opened and the notice sent — all by the desk's own loops.
      await d.handle.runOnce();
      // Nothing left waiting, as /metrics reports it for an operator's alerts.
      const metrics = await (await fetch(`${d.handle.http!.url}/metrics`)).text();
      expect(metrics).toMatch(/^aupdesk_inbox_items\{status="pending"\} 0$/m);
      expect(metrics).toMatch(/^aupdesk_outbox_actions\{status="pending"\} 0$/m);
      expect(metrics).toMatch(/^aupdesk_outbox_actions\{status="dead"\} 0$/m);
      const inbox = await d.handle.store.db.selectFrom('intake_inbox').selectAll().execute();
      expect(inbox).toHaveLength(1);
      expect(inbox[0]?.last_error ?? null).toBeNull();
      expect(inbox[0]).toMatchObject({ status: 'done', report_status: 'parsed' });
      // The evidence is the bytes as received, content-addressed.
      const stored = await d.handle.evidence.get(inbox[0]!.evidence_sha256);
      expect(Buffer.from(stored).toString('latin1')).toContain(ip);

      const cases = await d.handle.store.db.selectFrom('cases').selectAll().execute();
      expect(cases).toHaveLength(1);
      const ref = caseRefOf(cases[0]!.id);
      expect(cases[0]).toMatchObject({ customer_ref: CUSTOMER.ref, service_ref: CUSTOMER.service });
      const notice = d.sinks.mails.find((m) => JSON.stringify(m.to).includes(CUSTOMER.email));
      expect(notice?.subject).toContain(`[${ref}]`);
      expect(notice?.text).toContain(ip);
      expect(d.sinks.hooks.map((h) => h.body)).toEqual([]);

      // Inside the cure period nothing more happens.
      d.clock.advance(3 * DAY);
      await d.handle.runOnce();
      expect(d.sinks.hooks).toHaveLength(0);

      // Past the deadline: the suspension goes out through the signed webhook, once.
      d.clock.advance(5 * DAY);
      await d.handle.runOnce();
      await d.handle.runOnce();
      expect(d.sinks.hooks).toHaveLength(1);
      expect(d.sinks.hooks[0]).toMatchObject({
        signatureOk: true,
        body: { action: 'suspend', service: CUSTOMER.service, customer: CUSTOMER.ref },
      });
      const after = await d.handle.store.db.selectFrom('cases').select('status').execute();
      expect(after[0]?.status).toBe('suspended');

      await d.handle.stop();
      const verify = await auditVerify(d);
      expect(verify.err).toBe('');
      expect(verify.out).toMatch(/^audit ok: \d+ entries, head [0-9a-f]{64}\n$/);
      expect(verify.code).toBe(0);
    }

    it('a complaint over SMTP ends in a notice, a suspension and a whole audit chain', {
      timeout: 120_000,
    }, async () => {
      desk = await startDesk({ postgres: backend.postgres, start: START });
      const d = desk;
      const mail = complaintMail('192.0.2.55', d.clock.now(), 'smtp-1');
      const client = nodemailer.createTransport({
        host: '127.0.0.1',
        port: d.handle.smtp!.port,
        secure: false,
        ignoreTLS: true,
      });
      const info = await client.sendMail({
        from: '"Alice Reporter" <alice@reporter-e2e.example>',
        to: 'abuse@desk-e2e.example',
        subject: mail.subject,
        text: mail.text,
        messageId: mail.messageId,
      });
      expect(info.response).toMatch(/^250 /);
      await expect(
        client.sendMail({ from: 'alice@reporter-e2e.example', to: 'nobody@desk-e2e.example', text: 'x' }),
      ).rejects.toThrow(/550/);
      client.close();
      // What the intake answered, at /metrics.
      const metrics = await (await fetch(`${d.handle.http!.url}/metrics`)).text();
      expect(metrics).toMatch(
        /^aupdesk_smtp_messages_total\{route="abuse",kind="complaint",result="stored"\} 1$/m,
      );
      expect(metrics).toMatch(/^aupdesk_smtp_refusals_total\{code="550"\} 1$/m);
      await followThrough(d, '192.0.2.55');
    });

    it('the same through the JSON API with an API key', { timeout: 120_000 }, async () => {
      desk = await startDesk({ postgres: backend.postgres, start: START });
      const d = desk;
      const { key } = await createApiKey(d.handle.store.db, {
        name: 'e2e-feed',
        role: 'reporter',
        now: d.clock.now(),
      });
      const mail = complaintMail('192.0.2.66', d.clock.now(), 'api-1');
      const raw = [
        'From: "Alice Reporter" <alice@reporter-e2e.example>',
        'To: abuse@desk-e2e.example',
        `Subject: ${mail.subject}`,
        `Message-ID: ${mail.messageId}`,
        `Date: ${d.clock.now().toUTCString()}`,
        'Content-Type: text/plain; charset=utf-8',
        '',
        mail.text,
        '',
      ].join('\r\n');
      const res = await fetch(`${d.handle.http!.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'message/rfc822' },
        body: raw,
      });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: string; status: string };
      expect(body.status).toBe('accepted');
      await followThrough(d, '192.0.2.66');
    });

    it('the same through the public /report form with its CSRF token', { timeout: 120_000 }, async () => {
      desk = await startDesk({ postgres: backend.postgres, start: START });
      const d = desk;
      const base = d.handle.http!.url;
      const page = await fetch(`${base}/report`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const token = /name="_token" value="([^"]+)"/.exec(html)?.[1];
      const cookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect(token).toBeDefined();
      expect(cookie.startsWith(`${FORM_COOKIE}=`)).toBe(true);
      const mail = complaintMail('192.0.2.77', d.clock.now(), 'form-1');
      const form = new FormData();
      form.append('_token', token!);
      form.append('name', 'Alice Reporter');
      form.append('email', 'alice@reporter-e2e.example');
      form.append('kind', 'spam');
      form.append('target', '192.0.2.77');
      form.append('description', mail.text);
      form.append('evidence', new Blob([mail.text], { type: 'text/plain' }), 'auth.log');
      const posted = await fetch(`${base}/report`, {
        method: 'POST',
        body: form,
        headers: { cookie },
        redirect: 'manual',
      });
      expect(posted.status).toBe(303);
      const location = posted.headers.get('location')!;
      expect(location).toMatch(/^\/report\/status\/\d+-/);
      await d.handle.runOnce();
      const status = await (await fetch(`${base}${location}`)).text();
      const ref = caseRefOf(
        (await d.handle.store.db.selectFrom('cases').select('id').executeTakeFirstOrThrow()).id,
      );
      expect(status).toContain(`<strong class="case-ref">${ref}</strong>`);
      await followThrough(d, '192.0.2.77');
    });
  });
}
