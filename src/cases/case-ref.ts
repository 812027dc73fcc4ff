import { AupError } from '../errors.js';

/**
 * A case's public reference: `AUP-000123`, from its row id. The ladder engine's `caseId` (and so the notice
 * subject tag `[AUP-000123]`, the outbox keys and the webhook's `case`) is the number part, `000123`, so a
 * tag found in a reply's subject names the case without a lookup table.
 */

export function caseNumberOf(id: number): string {
  return String(id).padStart(6, '0');
}

export function caseRefOf(id: number): string {
  return `AUP-${caseNumberOf(id)}`;
}

/** `AUP-000123`, `aup-123`, `000123` or `123` → 123; anything else is an input error. */
export function caseIdFromRef(ref: string): number {
  const match = /^(?:AUP-)?0*([1-9][0-9]*)$/i.exec(ref.trim());
  const id = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `"${ref}" is not a case reference (expected AUP-000123)`);
  }
  return id;
}

/** The audit and scheduler subject of a case. */
export function caseSubject(id: number): string {
  return `case:${id}`;
}
