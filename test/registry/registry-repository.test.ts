import { expect, it } from 'vitest';
import { attribute } from '../../src/attribution/attribute.js';
import {
  assignResource,
  createCustomer,
  createService,
  endAssignment,
  setServiceStatus,
} from '../../src/registry/registry-repository.js';
import { loadRegistrySnapshot, RegistrySnapshotHolder } from '../../src/registry/registry-snapshot.js';
import { describeEachBackend } from '../support/store-backends.js';

const d = (s: string) => new Date(`${s}T00:00:00Z`);

describeEachBackend('registry repository', (ctx) => {
  it('creates customers and services and refuses duplicates and unknown parents', async () => {
    const db = ctx.store.db;
    await createCustomer(db, { ref: 'A', name: 'Alpha', emails: ['noc@alpha.example'], country: 'de' });
    await createCustomer(db, { ref: 'B', name: 'Bravo' });
    await expect(createCustomer(db, { ref: 'A', name: 'again' })).rejects.toMatchObject({
      code: 'AUP_ERR_STORE_CONFLICT',
    });
    await expect(createCustomer(db, { ref: 'X', name: 'X', emails: ['nope'] })).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });
    const colo = await createService(db, { ref: 'A-colo', customerRef: 'A', kind: 'colocation' });
    expect(colo).toMatchObject({ kind: 'colocation', status: 'active' });
    await createService(db, { ref: 'A-vps', customerRef: 'A', kind: 'vps', provisioningRef: 'vm-1' });
    await createService(db, { ref: 'B-vps', customerRef: 'B', kind: 'vps' });
    await expect(createService(db, { ref: 'Z', customerRef: 'nobody', kind: 'vps' })).rejects.toMatchObject({
      code: 'AUP_ERR_NOT_FOUND',
    });
  });

  it('lets a customer nest its own prefixes and refuses another customer inside them', async () => {
    const db = ctx.store.db;
    await assignResource(db, {
      serviceRef: 'A-colo',
      resource: '198.51.100.0/24',
      validFrom: d('2024-01-01'),
    });
    const carved = await assignResource(db, {
      serviceRef: 'A-vps',
      resource: '198.51.100.7',
      validFrom: d('2024-02-01'),
    });
    expect(carved.resource).toBe('198.51.100.7/32');
    const refused = assignResource(db, {
      serviceRef: 'B-vps',
      resource: '198.51.100.8/32',
      validFrom: d('2024-03-01'),
    });
    await expect(refused).rejects.toMatchObject({
      code: 'AUP_ERR_REGISTRY_OVERLAP',
      message: expect.stringMatching(/overlaps assignment \d+ \(198\.51\.100\.0\/24 held by A\/A-colo/),
    });
    // The same prefix twice at overlapping times is refused even for one customer.
    await expect(
      assignResource(db, { serviceRef: 'A-vps', resource: '198.51.100.0/24', validFrom: d('2025-01-01') }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_REGISTRY_OVERLAP' });
  });

  it('attributes a recycled address to whoever held it at the time', async () => {
    const db = ctx.store.db;
    const first = await assignResource(db, {
      serviceRef: 'B-vps',
      resource: '203.0.113.5/32',
      validFrom: d('2023-01-01'),
    });
    // Before it ends, another customer cannot take it.
    await expect(
      assignResource(db, { serviceRef: 'A-vps', resource: '203.0.113.5/32', validFrom: d('2024-06-01') }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_REGISTRY_OVERLAP' });
    await endAssignment(db, { assignmentId: first.id, at: d('2024-06-01') });
    await assignResource(db, { serviceRef: 'A-vps', resource: '203.0.113.5/32', validFrom: d('2024-06-01') });
    const snapshot = await loadRegistrySnapshot(db);
    expect(attribute(snapshot, { ip: '203.0.113.5', at: d('2024-05-31') })).toMatchObject({
      ours: true,
      customer: { ref: 'B' },
      assignment: { validTo: d('2024-06-01') },
    });
    expect(attribute(snapshot, { ip: '203.0.113.5', at: d('2024-06-01') })).toMatchObject({
      ours: true,
      customer: { ref: 'A', name: 'Alpha', emails: ['noc@alpha.example'], country: 'DE' },
      service: { ref: 'A-vps', kind: 'vps', provisioningRef: 'vm-1' },
      assignment: { validTo: null },
    });
    expect(attribute(snapshot, { ip: '203.0.113.5', at: d('2022-01-01') })).toMatchObject({
      ours: false,
      reason: 'not-held-at-that-time',
      nearest: { before: null, after: { customerRef: 'B', validFrom: d('2023-01-01') } },
    });
  });

  it('refuses to end an assignment before it starts or to assign to an unknown service', async () => {
    const db = ctx.store.db;
    const a = await assignResource(db, {
      serviceRef: 'B-vps',
      resource: 'bravo.example',
      validFrom: d('2024-01-01'),
    });
    await expect(endAssignment(db, { assignmentId: a.id, at: d('2023-01-01') })).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
    });
    await expect(
      assignResource(db, { serviceRef: 'nope', resource: '192.0.2.1', validFrom: d('2024-01-01') }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_REGISTRY_UNKNOWN_SERVICE' });
    await expect(
      assignResource(db, { serviceRef: 'B-vps', resource: '192.0.2.1/24', validFrom: d('2024-01-01') }),
    ).rejects.toMatchObject({
      code: 'AUP_ERR_INPUT_INVALID',
      message: expect.stringMatching(/host bits set/),
    });
    await expect(
      assignResource(db, { serviceRef: 'B-vps', resource: 'Bravo.Example.', validFrom: d('2024-06-01') }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_REGISTRY_OVERLAP' });
    await expect(
      assignResource(db, { serviceRef: 'B-vps', resource: '192.0.2.9', validFrom: new Date('garbage') }),
    ).rejects.toMatchObject({ code: 'AUP_ERR_INPUT_INVALID' });
  });

  it('rebuilds the held snapshot only when the registry revision moved', async () => {
    const db = ctx.store.db;
    const holder = new RegistrySnapshotHolder(db);
    expect(() => holder.current).toThrow();
    const first = await holder.refresh();
    expect(await holder.refresh()).toBe(first);
    await setServiceStatus(db, { serviceRef: 'B-vps', status: 'suspended' });
    const second = await holder.refresh();
    expect(second).not.toBe(first);
    expect(attribute(holder.current, { domain: 'www.bravo.example', at: d('2024-02-01') })).toMatchObject({
      ours: true,
      service: { ref: 'B-vps', status: 'suspended' },
    });
  });
});
