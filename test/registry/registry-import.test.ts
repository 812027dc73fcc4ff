import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { attribute } from '../../src/attribution/attribute.js';
import { parseRegistryFile } from '../../src/registry/registry-file-parser.js';
import { importRegistry } from '../../src/registry/registry-import.js';
import { loadRegistrySnapshot } from '../../src/registry/registry-snapshot.js';
import { describeEachBackend } from '../support/store-backends.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/registry/${name}`, import.meta.url), 'utf8');

describeEachBackend('registry import', (ctx) => {
  it('imports a CSV registry with customers, services and their attributes', async () => {
    const summary = await importRegistry(
      ctx.store.db,
      parseRegistryFile(fixture('small-registry.csv'), 'csv'),
    );
    expect(summary.errors).toEqual([]);
    expect(summary).toMatchObject({
      rows: 8,
      imported: 8,
      failed: 0,
      customers: { created: 4, updated: 0, unchanged: 0 },
      services: { created: 6, updated: 0, unchanged: 0 },
      assignments: { created: 8, updated: 0, unchanged: 0 },
      changed: true,
    });
    const acme = await ctx.store.db
      .selectFrom('customers')
      .selectAll()
      .where('ref', '=', 'C001')
      .executeTakeFirstOrThrow();
    expect(acme).toMatchObject({
      name: 'Acme Hosting GmbH',
      emails: ['noc@acme.example', 'abuse@acme.example'],
      country: 'DE',
      accepted_policy_provider: 'infince',
      accepted_policy_version: '2019-08-01',
    });
    expect(acme.accepted_policy_at?.toISOString()).toBe('2024-01-01T09:30:00.000Z');
    const idn = await ctx.store.db
      .selectFrom('assignments')
      .select('domain')
      .where('domain', 'like', 'xn--%')
      .executeTakeFirstOrThrow();
    expect(idn.domain).toBe('xn--bcher-kva.example');
  });

  it('changes nothing when the same file is imported again, and says so', async () => {
    const revision = await ctx.store.db
      .selectFrom('registry_revision')
      .select('revision')
      .executeTakeFirstOrThrow();
    const summary = await importRegistry(
      ctx.store.db,
      parseRegistryFile(fixture('small-registry.csv'), 'csv'),
    );
    expect(summary).toMatchObject({
      imported: 8,
      customers: { created: 0, updated: 0, unchanged: 4 },
      services: { created: 0, updated: 0, unchanged: 6 },
      assignments: { created: 0, updated: 0, unchanged: 8 },
      changed: false,
    });
    const after = await ctx.store.db
      .selectFrom('registry_revision')
      .select('revision')
      .executeTakeFirstOrThrow();
    expect(String(after.revision)).toBe(String(revision.revision));
  });

  it('records an ended tenancy when a re-import gives a valid_to', async () => {
    const csv = [
      'customer,email,service,kind,resource,valid_from,valid_to',
      'C001,noc@acme.example,S-VPS-1,vps,192.0.2.10/32,2024-01-01,2025-03-01',
    ].join('\n');
    const summary = await importRegistry(ctx.store.db, parseRegistryFile(csv, 'csv'));
    expect(summary.assignments).toEqual({ created: 0, updated: 1, unchanged: 0 });
    const snapshot = await loadRegistrySnapshot(ctx.store.db);
    const held = attribute(snapshot, { ip: '192.0.2.10', at: new Date('2025-02-28T23:59:59Z') });
    const free = attribute(snapshot, { ip: '192.0.2.10', at: new Date('2025-03-01T00:00:00Z') });
    expect(held).toMatchObject({ ours: true, service: { ref: 'S-VPS-1' } });
    expect(free).toMatchObject({ ours: false, reason: 'not-held-at-that-time' });
  });

  it('imports the nested JSON form, folding IPv4-mapped prefixes to IPv4', async () => {
    const summary = await importRegistry(
      ctx.store.db,
      parseRegistryFile(fixture('nested-registry.json'), 'json'),
    );
    expect(summary.errors).toEqual([]);
    expect(summary.assignments.created).toBe(2);
    const rows = await ctx.store.db
      .selectFrom('assignments')
      .innerJoin('services', 'services.id', 'assignments.service_id')
      .select(['prefix', 'domain', 'valid_from'])
      .where('services.ref', '=', 'JS-1')
      .orderBy('assignments.id')
      .execute();
    expect(rows.map((r) => r.prefix ?? r.domain)).toEqual(['192.0.2.64/26', 'stream.json.example']);
    expect(rows[1]!.valid_from.toISOString()).toBe('2024-02-01T10:00:00.000Z');
    const customer = await ctx.store.db
      .selectFrom('customers')
      .selectAll()
      .where('ref', '=', 'J001')
      .executeTakeFirstOrThrow();
    expect(customer.country).toBe('FR');
  });

  it('reports each bad row by line and reason while the good rows go in', async () => {
    const progress: number[] = [];
    const summary = await importRegistry(ctx.store.db, parseRegistryFile(fixture('bad-rows.csv'), 'csv'), {
      onProgress: (p) => progress.push(p.done),
    });
    const byLine = Object.fromEntries(summary.errors.map((e) => [e.location, `${e.code} ${e.message}`]));
    expect(byLine['line 2']).toMatch(
      /AUP_ERR_REGISTRY_ROW_INVALID resource: .*host bits set: did you mean 192\.0\.2\.0\/24/,
    );
    expect(byLine['line 3']).toMatch(/ROW_INVALID resource: .*192\.0\.2\.300/);
    expect(byLine['line 4']).toMatch(/ROW_INVALID resource: .*prefix length "33"/);
    expect(byLine['line 5']).toMatch(/ROW_INVALID valid_from: "2024-02-30" is not an ISO 8601 date/);
    expect(byLine['line 6']).toMatch(/ROW_INVALID valid_to: must be after valid_from/);
    expect(byLine['line 7']).toMatch(/AUP_ERR_REGISTRY_UNKNOWN_SERVICE service S999 does not exist/);
    expect(byLine['line 8']).toMatch(/ROW_INVALID email: .*not an email address/);
    expect(byLine['line 9']).toMatch(/ROW_INVALID kind: must be one of/);
    expect(byLine['line 10']).toBeUndefined();
    expect(byLine['line 11']).toMatch(
      /AUP_ERR_REGISTRY_OVERLAP 192\.0\.2\.11\/32 .* overlaps assignment \d+ \(192\.0\.2\.11\/32 held by C100\/S100/,
    );
    expect(byLine['line 12']).toMatch(/ROW_INVALID resource: .*single label/);
    expect(byLine['line 13']).toMatch(/ROW_INVALID resource: .*host bits set/);
    expect(summary).toMatchObject({ rows: 12, imported: 1, failed: 11 });
    expect(summary.assignments.created).toBe(1);
    expect(progress.at(-1)).toBe(12);
    const snapshot = await loadRegistrySnapshot(ctx.store.db);
    expect(attribute(snapshot, { ip: '192.0.2.11', at: new Date('2024-07-01') })).toMatchObject({
      ours: true,
      customer: { ref: 'C100' },
    });
  });

  it('refuses a service that a row places under another customer', async () => {
    const csv = [
      'customer,email,service,kind,resource,valid_from,valid_to',
      'C999,x@y.example,S-VPS-1,vps,192.0.2.99/32,2024-01-01,',
    ].join('\n');
    const summary = await importRegistry(ctx.store.db, parseRegistryFile(csv, 'csv'));
    expect(summary.errors).toEqual([
      {
        location: 'line 2',
        code: 'AUP_ERR_REGISTRY_ROW_INVALID',
        message: 'service S-VPS-1 belongs to customer C001, not C999',
      },
    ]);
  });
});
