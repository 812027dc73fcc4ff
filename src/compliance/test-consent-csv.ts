import { parse as parseCsv } from 'csv-parse/sync';
import { AupError } from '../errors.js';
import { canonicalTarget, type TestConsent } from './test-consent.js';

/**
 * The consent file `aupdesk consent import` and `aupdesk simulate --consents` read: CSV with the header
 * `service,targets,valid_from,valid_to,reference` (any order, case-insensitive), targets separated by `;`.
 * A date alone in `valid_from` means its first instant (UTC); in `valid_to` the whole day is included (the
 * window ends at the next midnight, UTC), as a letter saying "until 10 December" means. A date-time needs
 * its zone (`Z` or `+01:00`): a window of a test is never guessed in local time.
 *
 * All or nothing: every row is checked, and any problem fails the file with every bad line named, so a
 * half-imported authorisation list never lets half a test through.
 */

export const CONSENT_COLUMNS = ['service', 'targets', 'valid_from', 'valid_to', 'reference'] as const;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

export function parseTestConsentCsv(text: string): TestConsent[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text.replace(/^\uFEFF/, ''), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `consent CSV syntax: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const header = records[0]?.record.map((h) => h.trim().toLowerCase());
  if (!header) throw new AupError('AUP_ERR_INPUT_INVALID', 'the consent file is empty');
  const missing = CONSENT_COLUMNS.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !(CONSENT_COLUMNS as readonly string[]).includes(c));
  if (missing.length > 0 || unknown.length > 0) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `line 1: the header must be ${CONSENT_COLUMNS.join(',')}${missing.length > 0 ? `; missing ${missing.join(', ')}` : ''}${unknown.length > 0 ? `; unknown ${unknown.join(', ')}` : ''}`,
    );
  }
  const problems: string[] = [];
  const consents: TestConsent[] = [];
  for (const { record, info } of records.slice(1)) {
    const field = (name: (typeof CONSENT_COLUMNS)[number]): string => record[header.indexOf(name)] ?? '';
    const line = `line ${info.lines}`;
    if (record.length > header.length) {
      problems.push(
        `${line}: ${record.length} fields for ${header.length} columns (quote a field with commas)`,
      );
      continue;
    }
    try {
      consents.push(
        testConsentOf({
          service: field('service'),
          targets: field('targets'),
          validFrom: field('valid_from'),
          validTo: field('valid_to'),
          reference: field('reference'),
        }),
      );
    } catch (error) {
      if (!(error instanceof AupError)) throw error;
      problems.push(`${line}: ${error.message}`);
    }
  }
  if (problems.length > 0) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `consent file refused: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return consents;
}

/** One consent from its text fields (CSV row, console form, API body); throws AUP_ERR_INPUT_INVALID. */
export function testConsentOf(fields: {
  readonly service: string;
  readonly targets: string | readonly string[];
  readonly validFrom: string;
  readonly validTo: string;
  readonly reference: string;
}): TestConsent {
  const service = fields.service.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/.test(service)) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `service "${fields.service}" is not a service reference`);
  }
  const rawTargets = (typeof fields.targets === 'string' ? fields.targets.split(';') : fields.targets)
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (rawTargets.length === 0) {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'targets is empty (addresses or prefixes separated by ";")');
  }
  const targets = [...new Set(rawTargets.map((t) => canonicalTarget(t)))];
  const validFrom = consentTime(fields.validFrom, 'valid_from', 'start');
  const validTo = consentTime(fields.validTo, 'valid_to', 'end');
  if (validTo.getTime() <= validFrom.getTime()) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      `valid_to (${validTo.toISOString()}) must be after valid_from (${validFrom.toISOString()})`,
    );
  }
  const reference = fields.reference.trim();
  if (reference === '' || reference.length > 500) {
    throw new AupError(
      'AUP_ERR_INPUT_INVALID',
      'reference must name the written consent (a ticket, a letter; at most 500 characters)',
    );
  }
  return { id: null, service, targets, validFrom, validTo, reference };
}

function consentTime(text: string, column: string, edge: 'start' | 'end'): Date {
  const value = text.trim();
  if (DATE_ONLY.test(value)) {
    const day = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(day.getTime()) && day.toISOString().startsWith(value)) {
      return edge === 'start' ? day : new Date(day.getTime() + 86_400_000);
    }
  } else if (DATE_TIME.test(value)) {
    const at = new Date(value.replace(' ', 'T'));
    if (!Number.isNaN(at.getTime())) return at;
  }
  throw new AupError(
    'AUP_ERR_INPUT_INVALID',
    `${column} "${value}" is not a date (2026-12-01) or a date-time with zone (2026-12-01T09:00:00Z)`,
  );
}
