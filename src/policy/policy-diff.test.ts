import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { diffPolicies, normalise } from './policy-diff.js';
import { loadPolicyFile } from './policy-loader.js';
import type { PolicyDocument } from './policy-schema.js';

let v1: PolicyDocument;
let v2: PolicyDocument;

beforeAll(async () => {
  v1 = (await loadPolicyFile(path.resolve('test/fixtures/policy/tree/examplehost/2023-01-01.yaml'))).document;
  v2 = (await loadPolicyFile(path.resolve('test/fixtures/policy/tree/examplehost/2024-03-01.yaml'))).document;
});

/** A copy of v1 with one change applied. */
function edit(change: (doc: PolicyDocument) => void): PolicyDocument {
  const doc = structuredClone(v1);
  change(doc);
  return doc;
}

describe('diffPolicies', () => {
  it('lists added clauses, changed terms and an editorial clause edit between the two fixture versions', () => {
    const diff = diffPolicies(v1, v2);
    expect(diff).toMatchObject({ provider: 'examplehost', from: '2023-01-01', to: '2024-03-01' });
    expect(diff.clauses.added).toEqual([{ id: 'botnets', title: 'Botnets and malware' }]);
    expect(diff.clauses.removed).toEqual([]);
    expect(diff.clauses.changed.map((c) => c.id)).toEqual(['forged-headers']);
    expect(diff.clauses.changed[0]?.changes[0]).toMatchObject({
      path: 'clauses[forged-headers].text',
      material: false,
    });
    expect(diff.terms.map((t) => [t.path, t.old, t.new, t.material])).toEqual([
      ['terms.enforcement.cure_period', 'P5D', 'P3D', true],
      ['terms.information_requests.fee.amount', 275, 300, true],
    ]);
    expect(diff.verdict.material).toBe(true);
    expect(diff.verdict.reasons).toEqual([
      'clause "botnets" (Botnets and malware) added',
      'terms.enforcement.cure_period: "P5D" → "P3D" (shortened)',
      'terms.information_requests.fee.amount: 275 → 300 (raised)',
    ]);
  });

  it('finds nothing material between a version and itself', () => {
    const diff = diffPolicies(v1, structuredClone(v1));
    expect(diff.verdict).toEqual({ material: false, reasons: [], editorial: [] });
  });

  const cases: Array<{
    name: string;
    change: (d: PolicyDocument) => void;
    material: boolean;
    path?: string;
    note?: RegExp;
  }> = [
    { name: 'clause removed', change: (d) => void d.clauses.pop(), material: true },
    {
      name: 'covers widened',
      change: (d) => void d.clauses[0]?.covers.push('abusive-content/harmful-speech'),
      material: true,
      path: 'clauses[spam].covers',
      note: /widened: added abusive-content\/harmful-speech/,
    },
    {
      name: 'covers narrowed',
      change: (d) => {
        const ddos = d.clauses.find((c) => c.id === 'ddos');
        if (ddos) ddos.covers = ['availability/ddos'];
      },
      material: false,
      note: /removed availability\/dos/,
    },
    {
      name: 'severity raised',
      change: (d) => void Object.assign(d.clauses[0] ?? {}, { severity: 'high' }),
      material: true,
    },
    {
      name: 'severity lowered',
      change: (d) => void Object.assign(d.clauses[0] ?? {}, { severity: 'low' }),
      material: false,
    },
    {
      name: 'endangers infrastructure set',
      change: (d) => void Object.assign(d.clauses[0] ?? {}, { endangers_infrastructure: true }),
      material: true,
    },
    {
      name: 'clause text changed in substance (a "not" inserted)',
      change: (d) =>
        void Object.assign(d.clauses[2] ?? {}, {
          text: 'Scanning the ports of any host not without the express consent of its owner.',
        }),
      material: true,
      note: /wording changed/,
    },
    {
      name: 'clause text: whitespace, punctuation and quotes only',
      change: (d) =>
        void Object.assign(d.clauses[0] ?? {}, {
          text: 'Sending  unsolicited commercial email (“spam”) to recipients who have not given express permission',
        }),
      material: false,
      note: /whitespace, punctuation or case/,
    },
    {
      name: 'a number in the text changes (not a typo)',
      change: (d) =>
        void Object.assign(d.obligations[0] ?? {}, { text: d.obligations[0]?.text.replace('72', '24') }),
      material: true,
    },
    {
      name: 'cure period lengthened',
      change: (d) => void Object.assign(d.terms.enforcement, { cure_period: 'P10D' }),
      material: false,
    },
    {
      name: 'cure period same length written differently',
      change: (d) => void Object.assign(d.terms.enforcement, { cure_period: 'PT120H' }),
      material: false,
    },
    {
      name: 'anonymous policy changed',
      change: (d) => void Object.assign(d.terms.complaints, { anonymous: 'accept' }),
      material: true,
    },
    {
      name: 'confidentiality changed',
      change: (d) => void Object.assign(d.terms.complaints, { honour_confidentiality_requests: true }),
      material: true,
    },
    {
      name: 'fee lowered',
      change: (d) => void Object.assign(d.terms.information_requests?.fee ?? {}, { amount: 200 }),
      material: false,
    },
    {
      name: 'grace period removed',
      change: (d) => void delete d.terms.changes.grace_period_previous_version,
      material: true,
      path: 'terms.changes.grace_period_previous_version',
      note: /removed/,
    },
    {
      name: 'waivers withdrawn',
      change: (d) => void Object.assign(d.terms.changes, { waivers_allowed: false }),
      material: true,
    },
    {
      name: 'remedy added',
      change: (d) => void d.terms.enforcement.remedies.push('block-traffic'),
      material: true,
    },
    {
      name: 'notice before suspension weakened',
      change: (d) => void Object.assign(d.terms.enforcement, { notice_before_suspension: 'never-required' }),
      material: true,
    },
    {
      name: 'notice before suspension strengthened',
      change: (d) => void Object.assign(d.terms.enforcement, { notice_before_suspension: 'always' }),
      material: false,
    },
    {
      name: 'SLA credit granted for AUP interruptions',
      change: (d) => void Object.assign(d.terms.enforcement, { sla_credit_for_aup_interruptions: true }),
      material: false,
    },
    { name: 'ladder changed', change: (d) => void d.terms.enforcement.ladder.splice(1, 1), material: true },
    {
      name: 'obligation deadline shortened',
      change: (d) => void Object.assign(d.obligations[0] ?? {}, { deadline: 'PT24H' }),
      material: true,
      path: 'obligations[consent-evidence].deadline',
    },
    {
      name: 'DMCA agent moved (contact data)',
      change: (d) => void Object.assign(d.terms.dmca?.designated_agent ?? {}, { name: 'John Agent' }),
      material: false,
    },
    {
      name: 'dates only',
      change: (d) =>
        void Object.assign(d, { published_at: '2023-02-01T00:00:00Z', effective_at: '2023-02-01T00:00:00Z' }),
      material: false,
    },
    { name: 'clauses reordered', change: (d) => void d.clauses.reverse(), material: false },
    {
      name: 'preamble reworded',
      change: (d) => void Object.assign(d, { preamble: 'This policy is not part of your contract.' }),
      material: true,
    },
    {
      name: 'non-executable sentence added',
      change: (d) => void d.non_executable.push({ text: 'Be nice.', reason: 'no objective test' }),
      material: true,
    },
  ];

  it.each(cases)('$name → material: $material', (c) => {
    const diff = diffPolicies(v1, edit(c.change));
    expect(diff.verdict.material, JSON.stringify(diff.verdict)).toBe(c.material);
    const all = [
      ...diff.terms,
      ...diff.clauses.changed.flatMap((x) => x.changes),
      ...diff.obligations.changed.flatMap((x) => x.changes),
      ...diff.document,
    ];
    if (c.path) expect(all.map((x) => x.path)).toContain(c.path);
    if (c.note) expect(all.map((x) => x.note).join('\n')).toMatch(c.note);
    if (!c.material) expect(diff.verdict.editorial.length).toBeGreaterThan(0);
  });

  it('normalises quotes, dashes, punctuation, case and whitespace', () => {
    expect(normalise('  “Spam” — it’s  BAD.\n')).toBe(normalise('"spam" - it\'s bad'));
  });
});
