import { describe, expect, it } from 'vitest';
import { RegistrySnapshot } from '../registry/registry-snapshot.js';
import { attribute, resolveTarget } from './attribute.js';

const d = (s: string) => new Date(`${s}T00:00:00Z`);
const snapshot = RegistrySnapshot.build({
  customers: [
    { id: 1, ref: 'A', name: 'Alpha', emails: ['noc@alpha.example'], country: 'DE', status: 'active' },
    { id: 2, ref: 'B', name: 'Bravo', emails: [], country: null, status: 'suspended' },
  ],
  services: [
    { id: 10, ref: 'A-1', customerId: 1, kind: 'dedicated', status: 'active', provisioningRef: 'srv-10' },
    { id: 20, ref: 'B-1', customerId: 2, kind: 'vps', status: 'terminated', provisioningRef: null },
  ],
  assignments: [
    {
      id: 100,
      serviceId: 20,
      resource: '192.0.2.0/29',
      validFrom: d('2022-01-01'),
      validTo: d('2023-01-01'),
    },
    { id: 101, serviceId: 10, resource: '192.0.2.0/29', validFrom: d('2023-03-01'), validTo: null },
    { id: 102, serviceId: 10, resource: '2001:db8:aa::/48', validFrom: d('2023-03-01'), validTo: null },
    { id: 103, serviceId: 10, resource: 'xn--bcher-kva.example', validFrom: d('2023-03-01'), validTo: null },
  ],
});

describe('attribute', () => {
  it('answers with customer, service and assignment for an address held at that time', () => {
    expect(attribute(snapshot, { ip: '192.0.2.5', at: d('2024-01-01') })).toEqual({
      ours: true,
      customer: {
        id: 1,
        ref: 'A',
        name: 'Alpha',
        emails: ['noc@alpha.example'],
        country: 'DE',
        status: 'active',
      },
      service: { id: 10, ref: 'A-1', kind: 'dedicated', status: 'active', provisioningRef: 'srv-10' },
      assignment: { id: 101, resource: '192.0.2.0/29', validFrom: d('2023-03-01'), validTo: null },
    });
    expect(attribute(snapshot, { ip: '192.0.2.5', at: d('2022-06-01') })).toMatchObject({
      customer: { ref: 'B' },
    });
  });

  it('explains a gap between tenancies with the neighbouring ones', () => {
    const a = attribute(snapshot, { ip: '192.0.2.5', at: d('2023-02-01') });
    expect(a).toMatchObject({
      ours: false,
      reason: 'not-held-at-that-time',
      nearest: {
        before: { id: 100, customerRef: 'B', serviceRef: 'B-1' },
        after: { id: 101, customerRef: 'A' },
      },
    });
    expect(a.ours === false && a.detail).toMatch(
      /held by B\/B-1 until 2023-01-01.*held by A\/A-1 from 2023-03-01/,
    );
  });

  it('separates unassigned space and unknown domains from other times', () => {
    expect(attribute(snapshot, { ip: '192.0.2.8', at: d('2024-01-01') })).toMatchObject({
      ours: false,
      reason: 'unassigned',
    });
    expect(attribute(snapshot, { domain: 'other.example', at: d('2024-01-01') })).toMatchObject({
      ours: false,
      reason: 'unknown-domain',
    });
  });

  it('accepts IPv6 in any text form and IPv4-mapped addresses', () => {
    for (const ip of ['2001:db8:aa::1', '2001:0DB8:00AA:0000::0001', '[2001:db8:aa:ffff::]']) {
      expect(attribute(snapshot, { ip, at: d('2024-01-01') }), ip).toMatchObject({
        ours: true,
        assignment: { id: 102 },
      });
    }
    expect(attribute(snapshot, { ip: '::ffff:192.0.2.1', at: d('2024-01-01') })).toMatchObject({
      assignment: { id: 101 },
    });
  });

  it('attributes domains and subdomains, and URLs by their host', () => {
    const at = d('2024-01-01');
    expect(attribute(snapshot, { domain: 'WWW.Bücher.Example.', at })).toMatchObject({
      assignment: { id: 103 },
    });
    expect(attribute(snapshot, { url: 'https://a.b.xn--bcher-kva.example/phish?x=1', at })).toMatchObject({
      assignment: { id: 103 },
    });
    expect(attribute(snapshot, { url: 'http://[2001:db8:aa::9]:8080/', at })).toMatchObject({
      assignment: { id: 102 },
    });
    expect(attribute(snapshot, { url: 'bücher.example/login', at })).toMatchObject({
      assignment: { id: 103 },
    });
    // WHATWG URL parsing canonicalises odd IPv4 host forms.
    expect(resolveTarget({ url: 'http://0xc0.0.2.3/', at })).toMatchObject({ kind: 'v4', v4: 0xc0000203 });
    expect(attribute(snapshot, { domain: '192.0.2.3', at })).toMatchObject({ assignment: { id: 101 } });
  });

  it('throws AUP_ERR_ATTRIBUTION_BAD_QUERY for garbage', () => {
    const at = d('2024-01-01');
    for (const query of [
      { ip: '300.1.1.1', at },
      { ip: 'example.com', at },
      { domain: 'exa mple.com', at },
      { url: 'http://', at },
      { url: 'http://exa mple.com/', at },
      { ip: '192.0.2.1', at: new Date('nope') },
    ]) {
      expect(() => attribute(snapshot, query), JSON.stringify(query)).toThrow(
        expect.objectContaining({ code: 'AUP_ERR_ATTRIBUTION_BAD_QUERY' }),
      );
    }
  });
});
