import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../policy/policy-loader.js';
import { assessmentSummary, assessRequest } from './assess-request.js';
import { informationRequestSchema } from './information-request.js';

const iitgen = (await loadPolicyFile('policies/iitgen/2018-02-24.yaml')).document;
const securepacket = (await loadPolicyFile('policies/securepacket/2027-03-01.yaml')).document;
const now = new Date('2026-12-07T12:00:00Z');

const subpoena = informationRequestSchema.parse({
  kind: 'subpoena',
  requester: {
    name: 'Dana Whitfield',
    organisation: 'Whitfield & Rowe LLP',
    email: 'dwhitfield@wr-law.example',
  },
  authority: 'Fed. R. Civ. P. 45',
  matter: {
    court: 'United States District Court for the Central District of California',
    case_number: '2:26-cv-04411',
    filed_at: '2026-09-14',
    pending: true,
  },
  asks: ['subscriber name and billing address for 203.0.113.45 on 2026-08-02'],
  estimated_hours: 3,
});

describe("information requests under iITGEN's terms", () => {
  it('accepts a subpoena in a filed, pending matter, estimates $275/hour and says it is not confidential', () => {
    const a = assessRequest(iitgen, subpoena, now);
    expect(assessmentSummary(a)).toEqual({
      decision: 'accepted',
      reasons: [],
      fee: { hourly_rate: 275, currency: 'USD', estimated_hours: 3, estimate: 825 },
      requester_notices: [
        'Unless expressly required by law, your request is not confidential and will be shared with the customer concerned.',
        'Requests for information, including subpoenas, are honoured only if they are part of a filed and pending matter.',
        'Processing is charged at $275 per hour: an estimated 3 hours, $825; the time actually spent is billed.',
        'You are responsible for any legal fees we incur when responding to your request.',
      ],
    });
    expect(a.customerNotice).toBe('share');
  });

  it('refuses a request that is not part of a filed matter, and still says it is not confidential', () => {
    const a = assessRequest(iitgen, { ...subpoena, kind: 'private-request', matter: null }, now);
    expect(a.decision).toBe('refused');
    expect(a.fee).toBeNull();
    expect(a.reasons[0]).toMatch(
      /filed and pending matter; the request does not state the court, the case number, the filing date/,
    );
    expect(a.requester_notices[0]).toMatch(/not confidential/);
  });

  it('refuses a closed matter, a future filing date and a request without legal authority', () => {
    expect(
      assessRequest(iitgen, { ...subpoena, matter: { ...subpoena.matter, pending: false } }, now).reasons,
    ).toEqual([
      'the matter is no longer pending: requests are honoured only as part of a filed and pending matter',
    ]);
    expect(
      assessRequest(
        iitgen,
        { ...subpoena, matter: { ...subpoena.matter, filed_at: '2027-01-10T00:00:00Z' } },
        now,
      ).reasons[0],
    ).toMatch(/in the future/);
    const { authority: _, ...noAuthority } = subpoena;
    expect(assessRequest(iitgen, noAuthority, now).reasons).toEqual([
      'the requester must demonstrate that it is legally entitled to the information: no legal authority is stated',
    ]);
  });
});

describe("information requests under Secure Packet's terms", () => {
  it('accepts a law-enforcement request without a filed matter and promises the customer prior notice', () => {
    const a = assessRequest(
      securepacket,
      informationRequestSchema.parse({
        kind: 'law-enforcement-request',
        requester: 'Det. Sam Ortiz, Metro Police Cybercrime Unit',
        asks: ['connection logs for 198.51.100.7, 1-3 November 2026'],
      }),
      now,
    );
    expect(a.decision).toBe('accepted');
    expect(a.fee).toBeNull();
    expect(a.customerNotice).toBe('prior-notice');
    expect(a.requester_notices).toEqual([
      'The customer concerned will be given reasonable prior notice before any disclosure, where permitted by applicable law and regulation.',
    ]);
  });

  it('records a nondisclosure order instead of notifying the customer', () => {
    const a = assessRequest(
      securepacket,
      { ...subpoena, nondisclosure_order: 'Order under 18 U.S.C. 2705(b), 1:26-mj-100' },
      now,
    );
    expect(a.customerNotice).toBe('forbidden');
    expect(a.requester_notices[0]).toContain('2705(b)');
  });

  it('refuses a private request, and a civil request outside a filed action', () => {
    expect(assessRequest(securepacket, { ...subpoena, kind: 'private-request' }, now).reasons[0]).toMatch(
      /does not respond to private requests/,
    );
    const civil = assessRequest(
      securepacket,
      { ...subpoena, kind: 'civil-action-request', matter: { court: null, case_number: null } },
      now,
    );
    expect(civil.decision).toBe('refused');
    expect(civil.reasons).toEqual([
      'a civil request must come in a filed civil action that on its face meets the requirements (a court and a case number)',
    ]);
  });
});

describe('the request file schema', () => {
  it('explains what is wrong, field by field', () => {
    const r = informationRequestSchema.safeParse({
      kind: 'letter',
      requester: '',
      asks: [],
      matter: { filed_at: 'last week' },
    });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['kind', 'requester', 'asks', 'matter.filed_at']));
    expect(r.error!.issues.find((i) => i.path[0] === 'kind')?.message).toMatch(/subpoena, court-order/);
  });
});
