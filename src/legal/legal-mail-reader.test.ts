import { describe, expect, it } from 'vitest';
import { informationRequestSchema } from './information-request.js';
import { readLegalRequest } from './legal-mail-reader.js';

describe('legal requests read from mail', () => {
  it('reads a subpoena: court, case number, filing date, pending, authority, asks and deadline', () => {
    const read = readLegalRequest(
      `UNITED STATES DISTRICT COURT for the Central District of California
Aurora Photo LLC v. Doe, Case No. 2:26-cv-04411, filed on September 14, 2026. The matter is pending.
SUBPOENA TO PRODUCE DOCUMENTS, issued pursuant to Fed. R. Civ. P. 45. You are commanded to produce, no later than 2026-12-31:
- the name of the customer holding files.shop-a.example
- connection logs for 1-2 November 2026`,
      { name: 'Dana Whitfield', email: 'dwhitfield@wr-law.example' },
    );
    const request = informationRequestSchema.parse(read);
    expect(request).toMatchObject({
      kind: 'subpoena',
      authority: 'Fed. R. Civ. P. 45',
      matter: { case_number: '2:26-cv-04411', filed_at: '2026-09-14T00:00:00Z', pending: true },
      deadline: '2026-12-31T00:00:00Z',
      requester: { name: 'Dana Whitfield', email: 'dwhitfield@wr-law.example' },
    });
    expect(request.asks).toHaveLength(2);
  });

  it('leaves unknown what the text does not say, and records a nondisclosure order', () => {
    const read = informationRequestSchema.parse(
      readLegalRequest(
        'Detective Ortiz here, Metro Police. Please send who uses 198.51.100.7. A nondisclosure order under 18 U.S.C. 2705(b) applies',
        {
          email: 'ortiz@police.example',
        },
      ),
    );
    expect(read.kind).toBe('law-enforcement-request');
    expect(read.matter).toEqual({ court: null, case_number: null, filed_at: null, pending: null });
    expect(read.nondisclosure_order).toMatch(/2705\(b\)/);
    expect(read.asks).toEqual(['(as stated in the request; see the original message)']);
  });
});
