import type { IntakeEvent } from '../src/intake/event.js';
import type { Reporter } from '../src/intake/report.js';
import {
  type PolicyDocument,
  type PolicyDocumentInput,
  policyDocumentSchema,
} from '../src/policy/policy-schema.js';

/**
 * One-line builders for tests. Each returns a valid object; pass overrides for what the test is about.
 */

export function makePolicy(overrides: Partial<PolicyDocumentInput> = {}): PolicyDocument {
  const base: PolicyDocumentInput = {
    schema: 'aupdesk/policy@1',
    provider: { id: 'example', name: 'Example Hosting', abuse_contact: { email: 'abuse@example.net' } },
    version: '1.0',
    title: 'Acceptable Use Policy',
    published_at: '2026-01-01T00:00:00Z',
    effective_at: '2026-01-01T00:00:00Z',
    sections: [{ id: 'prohibited', title: 'Prohibited uses', clauses: ['spam', 'ddos', 'shared-exec'] }],
    clauses: [
      {
        id: 'spam',
        title: 'Spam',
        text: 'No unsolicited bulk email.',
        covers: ['abusive-content/spam'],
        severity: 'medium',
      },
      {
        id: 'ddos',
        title: 'Denial of service',
        text: 'No denial-of-service attacks.',
        covers: ['availability/ddos', 'availability/dos'],
        severity: 'critical',
        endangers_infrastructure: true,
      },
      {
        id: 'shared-exec',
        title: 'Executables on shared hosting',
        text: 'No programs unrelated to web hosting on shared hosting.',
        covers: ['fraud/unauthorized-use-of-resources'],
        severity: 'low',
        service_kinds: ['shared-hosting'],
      },
    ],
    terms: {
      enforcement: {
        notice_channel: 'email',
        cure_period: 'P3D',
        notice_before_suspension: 'always',
        immediate_suspension_when_endangering: true,
        remedies: ['notify', 'suspend', 'terminate'],
        ladder: [
          { id: 'notice', action: 'notify', wait: 'cure_period' },
          { id: 'suspend', action: 'suspend', wait: 'P7D' },
          { id: 'terminate', action: 'terminate' },
        ],
      },
      complaints: {
        anonymous: 'reject',
        share_with_customer: 'reporter-redacted',
        honour_confidentiality_requests: false,
      },
      changes: { announce: ['email'], notify_customers: 'material-only', effective: 'on-posting' },
    },
  };
  return policyDocumentSchema.parse({ ...base, ...overrides });
}

export function makeEvent(overrides: Partial<IntakeEvent> = {}): IntakeEvent {
  return {
    'classification.taxonomy': 'abusive-content',
    'classification.type': 'spam',
    'source.ip': '192.0.2.10',
    'time.source': '2026-03-01T10:00:00.000Z',
    'feed.name': 'test',
    ...overrides,
  } as IntakeEvent;
}

export function makeReporter(overrides: Partial<Reporter> = {}): Reporter {
  return {
    name: 'Alice Reporter',
    email: 'alice@reporter.example',
    anonymous: false,
    automated: false,
    ...overrides,
  };
}
