import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../test/factories.js';
import { RegistrySnapshot } from '../registry/registry-snapshot.js';
import { attributeEvent } from './attribute-event.js';

const customer = (id: number, ref: string) => ({
  id,
  ref,
  name: ref,
  emails: [`noc@${ref}.example`],
  country: null,
  status: 'active' as const,
});
const snapshot = RegistrySnapshot.build({
  customers: [customer(1, 'acme'), customer(2, 'shop')],
  services: [
    { id: 10, ref: 'acme-vps', customerId: 1, kind: 'vps', status: 'active', provisioningRef: null },
    {
      id: 20,
      ref: 'shop-web',
      customerId: 2,
      kind: 'shared-hosting',
      status: 'active',
      provisioningRef: null,
    },
  ],
  assignments: [
    {
      id: 100,
      serviceId: 10,
      resource: '198.51.100.0/24',
      validFrom: new Date('2026-01-01T00:00:00Z'),
      validTo: null,
    },
    {
      id: 200,
      serviceId: 20,
      resource: 'pills.example',
      validFrom: new Date('2026-01-01T00:00:00Z'),
      validTo: null,
    },
  ],
});
const received = new Date('2026-03-02T00:00:00Z');

describe('attributeEvent', () => {
  it('attributes by the source address at the event’s time', () => {
    const a = attributeEvent(snapshot, makeEvent({ 'source.ip': '198.51.100.7' }), received);
    expect(a).toMatchObject({ by: 'source.ip', via: 'source', attribution: { ours: true } });
    expect(a.attribution.ours && a.attribution.service.ref).toBe('acme-vps');
    expect(a.at.toISOString()).toBe('2026-03-01T10:00:00.000Z');
  });

  it('attributes spam sent elsewhere to the customer hosting the advertised URL (promoted-url)', () => {
    const event = makeEvent({ 'source.ip': '203.0.113.9', 'source.url': 'http://www.pills.example/buy' });
    const a = attributeEvent(snapshot, event, received);
    expect(a).toMatchObject({ by: 'source.url', via: 'promoted-url' });
    expect(a.attribution.ours && a.attribution.customer.ref).toBe('shop');
  });

  it('treats SpamCop spamvertised events as about the site even when its address is ours', () => {
    const event = makeEvent({
      'source.ip': '198.51.100.80',
      'source.fqdn': 'cheap.example',
      'classification.identifier': 'spamvertised',
    });
    expect(attributeEvent(snapshot, event, received)).toMatchObject({ by: 'source.ip', via: 'promoted-url' });
  });

  it('uses the ARF report’s spamvertised host beside a sender that is not ours', () => {
    const event = makeEvent({ 'source.ip': '203.0.113.9', extra: { spamvertised_host: 'pills.example' } });
    expect(attributeEvent(snapshot, event, received)).toMatchObject({
      by: 'extra.spamvertised_host',
      via: 'promoted-url',
    });
  });

  it('a URL of a copyright complaint is the source itself, not a promotion', () => {
    const event = makeEvent({
      'classification.taxonomy': 'fraud',
      'classification.type': 'copyright',
      'source.url': 'https://pills.example/movie.mkv',
    });
    delete event['source.ip'];
    expect(attributeEvent(snapshot, event, received)).toMatchObject({ by: 'source.url', via: 'source' });
  });

  it('explains a miss with the first field tried', () => {
    const a = attributeEvent(snapshot, makeEvent({ 'source.ip': '203.0.113.9' }), received);
    expect(a).toMatchObject({ by: 'source.ip', attribution: { ours: false, reason: 'unassigned' } });
  });
});
