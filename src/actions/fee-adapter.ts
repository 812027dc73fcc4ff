import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type FeePayload, feePayloadSchema } from '../enforcement/planned-action.js';

/**
 * `fee.record`: a fee charged to the customer under the policy (Injazat: "imposing fees or charges on the
 * breaching Customer's account in accordance with the applicable service contract"). aupdesk records the
 * fee; billing collects it (export or a billing hook reads the rows).
 *
 * Persistence comes with the case tables; until then the adapter writes through `FeeRepository`, one
 * function keyed by the outbox key, so a repeated action records one fee.
 */

export interface FeeRow {
  /** The outbox key of the action: unique, the dedupe key. */
  readonly idempotencyKey: string;
  readonly caseId: string;
  readonly customerId: string;
  readonly serviceId: string;
  /** In the currency's major unit (150.00 AED). */
  readonly amount: number;
  /** ISO 4217. */
  readonly currency: string;
  /** Why: the contract clause or policy term it is charged under. */
  readonly basis: string;
  readonly recordedAt: string;
}

export interface FeeRepository {
  /** Inserts the row unless one with its key exists; returns the stored row and whether it was new. */
  recordFee(row: FeeRow): Promise<{ row: FeeRow; inserted: boolean }>;
}

export function memoryFeeRepository(): FeeRepository & { rows(): FeeRow[] } {
  const rows = new Map<string, FeeRow>();
  return {
    async recordFee(row) {
      const existing = rows.get(row.idempotencyKey);
      if (existing) return { row: existing, inserted: false };
      rows.set(row.idempotencyKey, row);
      return { row, inserted: true };
    },
    rows: () => [...rows.values()],
  };
}

export class FeeAdapter implements ActionHandler<FeePayload> {
  readonly kind = 'fee.record';
  readonly payloadSchema = feePayloadSchema;

  constructor(private readonly repository: FeeRepository) {}

  async perform(action: OutboxAction<FeePayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = feePayloadSchema.parse(action.payload);
    const { row, inserted } = await this.repository.recordFee({
      idempotencyKey: action.idempotencyKey,
      caseId: payload.caseId,
      customerId: payload.customerId,
      serviceId: payload.serviceId,
      // Money in minor-unit precision: 0.1 + 0.2 style drift must not reach an invoice.
      amount: Math.round(payload.amount * 100) / 100,
      currency: payload.currency.toUpperCase(),
      basis: payload.basis,
      recordedAt: ctx.clock.now().toISOString(),
    });
    return {
      recorded: inserted,
      amount: row.amount,
      currency: row.currency,
      customer: row.customerId,
      case: row.caseId,
      recordedAt: row.recordedAt,
    };
  }
}
