import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAupError } from '../errors.js';
import { type BindingQuery, bindingVersion } from './policy-binding.js';
import { createPolicyHistory, type LoadedPolicy, parsePolicySource } from './policy-loader.js';
import type { ChangeTerms } from './policy-schema.js';

const base = parsePolicySource(
  readFileSync(path.resolve('test/fixtures/policy/valid/minimal.yaml'), 'utf8'),
  'minimal.yaml',
);

function version(v: string, effectiveAt: string, changes: Partial<ChangeTerms> = {}): LoadedPolicy {
  const doc = base.document;
  return {
    ...base,
    file: `${v}.yaml`,
    document: {
      ...doc,
      version: v,
      published_at: effectiveAt,
      effective_at: effectiveAt,
      terms: { ...doc.terms, changes: { ...doc.terms.changes, ...changes } },
    },
  };
}

// v1 binds on posting; v2 gives 90 days' grace on v1 (Secure Packet); v3 needs explicit acceptance;
// v4 binds on posting with no grace.
const history = createPolicyHistory('minimal', [
  version('v2', '2024-04-01T00:00:00Z', { grace_period_previous_version: 'P90D' }),
  version('v1', '2024-01-01T00:00:00Z'),
  version('v3', '2025-01-01T00:00:00Z', { acceptance: 'explicit' }),
  version('v4', '2026-01-01T00:00:00Z'),
]);

describe('bindingVersion', () => {
  const cases: Array<{
    name: string;
    query: BindingQuery;
    version: string;
    reason?: RegExp;
    graceEndsAt?: string;
    pending?: string;
  }> = [
    // Effective dates, no acceptance recorded: the version in force binds by continued use.
    { name: 'at the first effective instant', query: { at: '2024-01-01T00:00:00Z' }, version: 'v1' },
    { name: 'just before v2 takes effect', query: { at: '2024-03-31T23:59:59Z' }, version: 'v1' },
    {
      name: 'no acceptance recorded: v2 binds once effective (no grace claimed)',
      query: { at: '2024-04-01T00:00:00Z' },
      version: 'v2',
      reason: /No acceptance is recorded/,
    },
    // Grace period edges for a customer who accepted v1.
    {
      name: 'accepted v1, inside v2 grace',
      query: { acceptedVersion: 'v1', at: '2024-05-01T00:00:00Z' },
      version: 'v1',
      graceEndsAt: '2024-06-30T00:00:00Z',
      reason: /may keep using the service under v1 until 2024-06-30T00:00:00Z/,
    },
    {
      name: 'accepted v1, one second before the grace ends',
      query: { acceptedVersion: 'v1', at: '2024-06-29T23:59:59Z' },
      version: 'v1',
    },
    {
      name: 'accepted v1, exactly at the end of the grace period',
      query: { acceptedVersion: 'v1', at: '2024-06-30T00:00:00Z' },
      version: 'v2',
      reason: /P90D grace period on the previous version ended 2024-06-30T00:00:00Z/,
    },
    {
      name: 'accepted v2 during the grace period binds v2 at once',
      query: { acceptedVersion: 'v2', acceptedAt: '2024-04-10T00:00:00Z', at: '2024-04-10T00:00:00Z' },
      version: 'v2',
      reason: /accepted v2/,
    },
    {
      name: 'acceptance of v2 recorded after the instant asked about does not count yet',
      query: { acceptedVersion: 'v2', acceptedAt: '2024-05-01T00:00:00Z', at: '2024-04-10T00:00:00Z' },
      version: 'v2',
      reason: /only on 2024-05-01T00:00:00Z, after 2024-04-10T00:00:00Z/,
    },
    {
      name: 'sign-up date alone: the version in force then is the base',
      query: { acceptedAt: '2024-02-01T00:00:00Z', at: '2024-05-01T00:00:00Z' },
      version: 'v1',
      reason: /when v1 was in force/,
    },
    {
      name: 'accepted a version not yet in force: the version in force binds',
      query: { acceptedVersion: 'v2', at: '2024-02-01T00:00:00Z' },
      version: 'v1',
      reason: /not in force at/,
    },
    // Waivers.
    {
      name: 'v2 waived: the customer stays on v1 after the grace',
      query: { acceptedVersion: 'v1', waivedVersions: ['v2'], at: '2024-12-01T00:00:00Z' },
      version: 'v1',
      reason: /Waived for this customer: v2/,
    },
    {
      name: 'v2 waived, no acceptance recorded: v1 still binds',
      query: { waivedVersions: ['v2'], at: '2024-12-01T00:00:00Z' },
      version: 'v1',
    },
    // Explicit acceptance.
    {
      name: 'v3 needs explicit acceptance: a customer on v2 stays on v2',
      query: { acceptedVersion: 'v2', at: '2025-06-01T00:00:00Z' },
      version: 'v2',
      pending: 'v3',
      reason: /v3 requires explicit acceptance/,
    },
    {
      name: 'v3 accepted explicitly binds',
      query: { acceptedVersion: 'v3', acceptedAt: '2025-02-01T00:00:00Z', at: '2025-06-01T00:00:00Z' },
      version: 'v3',
    },
    {
      name: 'chain: accepted v1, v2 grace over, v3 not accepted → v2',
      query: { acceptedVersion: 'v1', at: '2025-06-01T00:00:00Z' },
      version: 'v2',
      pending: 'v3',
    },
    {
      name: 'a later on-posting version takes over from an unaccepted explicit one',
      query: { acceptedVersion: 'v2', at: '2026-01-01T00:00:00Z' },
      version: 'v4',
      reason: /binds on posting/,
    },
    {
      name: 'a date without a time is midnight UTC',
      query: { acceptedVersion: 'v1', at: '2024-06-30' },
      version: 'v2',
    },
  ];

  it.each(cases)('$name', (c) => {
    const result = bindingVersion(history, c.query);
    expect(result.version).toBe(c.version);
    expect(result.document.version).toBe(c.version);
    if (c.reason) expect(result.reason).toMatch(c.reason);
    if (c.graceEndsAt) expect(result.graceEndsAt).toBe(c.graceEndsAt);
    expect(result.pendingAcceptance).toBe(c.pending);
  });

  it('reports the version in force for everyone beside the customer’s', () => {
    const result = bindingVersion(history, { acceptedVersion: 'v1', at: '2024-05-01T00:00:00Z' });
    expect(result).toMatchObject({ version: 'v1', inForce: 'v2', graceFor: 'v2' });
  });

  const failures: Array<{ name: string; query: BindingQuery; code: string; message: RegExp }> = [
    {
      name: 'before the first version',
      query: { at: '2023-12-31T23:59:59Z' },
      code: 'AUP_ERR_POLICY_NO_BINDING_VERSION',
      message: /no version of minimal was in force at 2023-12-31T23:59:59Z \(the first, v1, takes effect/,
    },
    {
      name: 'every version in force waived',
      query: { waivedVersions: ['v1'], at: '2024-02-01T00:00:00Z' },
      code: 'AUP_ERR_POLICY_NO_BINDING_VERSION',
      message: /waived/,
    },
    {
      name: 'signed up before the first version',
      query: { acceptedAt: '2023-06-01T00:00:00Z', at: '2024-02-01T00:00:00Z' },
      code: 'AUP_ERR_POLICY_NO_BINDING_VERSION',
      message: /when the customer accepted/,
    },
    {
      name: 'unknown version',
      query: { acceptedVersion: 'v9', at: '2024-02-01' },
      code: 'AUP_ERR_INPUT_INVALID',
      message: /no version "v9"/,
    },
    {
      name: 'accepted and waived at once',
      query: { acceptedVersion: 'v2', waivedVersions: ['v2'], at: '2024-05-01' },
      code: 'AUP_ERR_INPUT_INVALID',
      message: /both accepted and waived/,
    },
    {
      name: 'local time without offset',
      query: { at: '2024-05-01T10:00:00' },
      code: 'AUP_ERR_INPUT_INVALID',
      message: /date-time with offset/,
    },
  ];

  it.each(failures)('fails: $name', (c) => {
    try {
      bindingVersion(history, c.query);
      expect.unreachable();
    } catch (error) {
      expect(isAupError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(c.code);
      expect((error as Error).message).toMatch(c.message);
    }
  });
});
