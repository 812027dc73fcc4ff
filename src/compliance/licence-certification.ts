import type { Kysely, Selectable, Transaction } from 'kysely';
import { type AuditActor, appendAudit } from '../audit/audit-log.js';
import { enqueueAction } from '../enforcement/outbox/outbox-repository.js';
import type { CorrespondencePayload, FeePayload } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';
import { findCustomerByRef } from '../registry/registry-repository.js';
import type { Database } from '../store/schema.js';
import type { LicenceCertificationTable } from '../store/tables/compliance.table.js';

/**
 * Licence certification (Secure Packet §6, table `licence_certifications`, owned here): "On Secure
 * Packet's request, Customer shall sufficiently certify in writing … If Customer fails to certify
 * licensing or support as requested, Secure Packet may charge Customer its standard fee for licensed use
 * of the software, until the required certification is provided."
 *
 * A request names the customer, the deadline and the standard fee (the policy gives no amount: it is the
 * provider's price list), charged once per `feeEveryDays` from the deadline until the customer certifies.
 * Each fee is an outbox `fee.record` action keyed by request and period, so a sweep run twice, or by two
 * workers, records each period's fee once.
 */

type Db = Kysely<Database> | Transaction<Database>;

export interface LicenceCertification {
  readonly id: number;
  readonly ref: string;
  readonly customerRef: string;
  readonly requestedAt: Date;
  readonly requestedBy: string;
  readonly dueAt: Date;
  readonly certifiedAt: Date | null;
  readonly certifiedBy: string | null;
  readonly statement: string | null;
  readonly fee: { readonly amount: number; readonly currency: string; readonly everyDays: number };
  readonly feesQueued: number;
}

export const certRef = (id: number): string => `CERT-${String(id).padStart(6, '0')}`;

function certIdFromRef(ref: string): number | undefined {
  const m = /^CERT-(\d{1,12})$/i.exec(ref.trim());
  return m ? Number(m[1]) : undefined;
}

const DAY = 86_400_000;

function certOf(row: Selectable<LicenceCertificationTable> & { customer_ref: string }): LicenceCertification {
  return {
    id: row.id,
    ref: certRef(row.id),
    customerRef: row.customer_ref,
    requestedAt: row.requested_at,
    requestedBy: row.requested_by,
    dueAt: row.due_at,
    certifiedAt: row.certified_at,
    certifiedBy: row.certified_by,
    statement: row.statement,
    fee: { amount: Number(row.fee_amount), currency: row.fee_currency, everyDays: row.fee_every_days },
    feesQueued: row.fees_queued,
  };
}

function selectCerts(db: Db) {
  return db
    .selectFrom('licence_certifications as l')
    .innerJoin('customers as c', 'c.id', 'l.customer_id')
    .selectAll('l')
    .select('c.ref as customer_ref');
}

export async function requestCertification(
  trx: Transaction<Database>,
  input: {
    readonly customerRef: string;
    readonly dueAt: Date;
    readonly fee: { readonly amount: number; readonly currency: string; readonly everyDays?: number };
    readonly at: Date;
    readonly actor: AuditActor;
  },
): Promise<LicenceCertification> {
  const customer = await findCustomerByRef(trx, input.customerRef);
  if (!customer) throw new AupError('AUP_ERR_NOT_FOUND', `no customer "${input.customerRef.slice(0, 80)}"`);
  if (Number.isNaN(input.dueAt.getTime()) || input.dueAt.getTime() <= input.at.getTime()) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the certification deadline must be a date after now');
  }
  const amount = Math.round(input.fee.amount * 100) / 100;
  if (!(amount > 0) || amount > 1e9)
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the fee must be a positive amount');
  const currency = input.fee.currency.toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency))
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the currency is an ISO 4217 code');
  const everyDays = input.fee.everyDays ?? 30;
  if (!Number.isInteger(everyDays) || everyDays < 1 || everyDays > 366) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'the fee period is 1 to 366 days');
  }
  const row = await trx
    .insertInto('licence_certifications')
    .values({
      customer_id: customer.id,
      requested_at: input.at,
      requested_by: input.actor,
      due_at: input.dueAt,
      fee_amount: amount,
      fee_currency: currency,
      fee_every_days: everyDays,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const cert = certOf({ ...row, customer_ref: customer.ref });
  await appendAudit(trx, {
    at: input.at,
    actor: input.actor,
    kind: 'licence.certification.requested',
    subject: `customer:${customer.ref}`,
    payload: { ref: cert.ref, dueAt: cert.dueAt.toISOString(), fee: { amount, currency, everyDays } },
  });
  // The request itself goes to the customer in writing (§6: "on Secure Packet's request"), once.
  const to = customer.emails[0];
  if (to) {
    const letter: CorrespondencePayload = {
      about: `licence:${cert.ref}`,
      letter: 'licence.certification-request',
      to,
      toName: customer.name.slice(0, 300),
      subject: `[${cert.ref}] Please certify your software licences by ${cert.dueAt.toISOString().slice(0, 10)}`,
      text: [
        `Dear ${customer.name},`,
        '',
        'Under section 6 of our Acceptable Use Policy ("Customer Provided Licenses and Support"), please certify',
        'in writing that you hold the legal right to use the software you run on the services we provide, and',
        'adequate vendor support where it applies.',
        '',
        `Deadline: ${cert.dueAt.toISOString().replace('T', ' ').slice(0, 16)} UTC.`,
        `If we have not received the certification by then, we will charge our standard fee for licensed use of`,
        `the software, ${currency} ${amount.toFixed(2)} for every ${everyDays} days, until it is provided.`,
        '',
        `Please reply to this message quoting ${cert.ref}.`,
      ].join('\n'),
    };
    await enqueueAction(trx, {
      at: input.at,
      kind: 'mail.correspondence',
      idempotencyKey: `licence-cert:${cert.id}:request`,
      payload: letter,
      actor: input.actor,
    });
  }
  return cert;
}

export async function recordCertification(
  trx: Transaction<Database>,
  input: { readonly ref: string; readonly statement: string; readonly at: Date; readonly actor: AuditActor },
): Promise<LicenceCertification> {
  const statement = input.statement.trim();
  if (statement === '') throw new AupError('AUP_ERR_INPUT_INVALID', 'record what the customer certified');
  const current = await requireCertification(trx, input.ref);
  if (current.certifiedAt) throw new AupError('AUP_ERR_INPUT_INVALID', `${current.ref} is certified already`);
  const row = await trx
    .updateTable('licence_certifications')
    .set({ certified_at: input.at, certified_by: input.actor, statement: statement.slice(0, 5000) })
    .where('id', '=', current.id)
    .where('certified_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
  if (!row)
    throw new AupError('AUP_ERR_STORE_CONFLICT', `${current.ref} changed while it was being certified`);
  const cert = certOf({ ...row, customer_ref: current.customerRef });
  await appendAudit(trx, {
    at: input.at,
    actor: input.actor,
    kind: 'licence.certification.certified',
    subject: `customer:${cert.customerRef}`,
    payload: { ref: cert.ref, late: input.at.getTime() > cert.dueAt.getTime(), feesQueued: cert.feesQueued },
  });
  return cert;
}

/**
 * Queues the standard fee for each period begun since the deadline of every uncertified request: the first
 * at the deadline, then one each `everyDays`. Returns the fees queued by this run.
 */
export async function chargeUncertified(
  db: Kysely<Database>,
  now: Date,
): Promise<{ ref: string; customer: string; period: number }[]> {
  const due = await selectCerts(db)
    .where('l.certified_at', 'is', null)
    .where('l.due_at', '<=', now)
    .execute();
  const queued: { ref: string; customer: string; period: number }[] = [];
  for (const found of due) {
    await db.transaction().execute(async (trx) => {
      const row = await selectCerts(trx)
        .where('l.id', '=', found.id)
        .where('l.certified_at', 'is', null)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return;
      const cert = certOf(row);
      const periods = Math.floor((now.getTime() - cert.dueAt.getTime()) / (cert.fee.everyDays * DAY)) + 1;
      for (let period = cert.feesQueued; period < periods; period++) {
        const payload: FeePayload = {
          caseId: cert.ref,
          customerId: cert.customerRef,
          serviceId: 'licensed-software',
          amount: cert.fee.amount,
          currency: cert.fee.currency,
          basis: `Secure Packet §6: licence certification ${cert.ref} not provided (period ${period + 1}, from ${new Date(cert.dueAt.getTime() + period * cert.fee.everyDays * DAY).toISOString().slice(0, 10)})`,
        };
        await enqueueAction(trx, {
          at: now,
          kind: 'fee.record',
          idempotencyKey: `licence-cert:${cert.id}:fee:${period}`,
          payload,
          actor: 'system:licence-certification',
        });
        queued.push({ ref: cert.ref, customer: cert.customerRef, period: period + 1 });
      }
      if (periods > cert.feesQueued) {
        await trx
          .updateTable('licence_certifications')
          .set({ fees_queued: periods })
          .where('id', '=', cert.id)
          .execute();
        await appendAudit(trx, {
          at: now,
          actor: 'system:licence-certification',
          kind: 'licence.certification.fee-queued',
          subject: `customer:${cert.customerRef}`,
          payload: { ref: cert.ref, periods, amount: cert.fee.amount, currency: cert.fee.currency },
        });
      }
    });
  }
  return queued;
}

export async function requireCertification(db: Db, ref: string): Promise<LicenceCertification> {
  const id = certIdFromRef(ref);
  const row = id === undefined ? undefined : await selectCerts(db).where('l.id', '=', id).executeTakeFirst();
  if (!row) throw new AupError('AUP_ERR_NOT_FOUND', `no licence certification "${ref.slice(0, 40)}"`);
  return certOf(row);
}

export async function listCertifications(
  db: Db,
  filter: { readonly customerRef?: string | undefined } = {},
): Promise<LicenceCertification[]> {
  let q = selectCerts(db).orderBy('l.id', 'desc').limit(500);
  if (filter.customerRef) q = q.where('c.ref', '=', filter.customerRef);
  return (await q.execute()).map(certOf);
}
