/**
 * `npm run bench -- attribution [--scale 1]`: builds the attribution snapshot from a generated registry
 * (1,000,000 prefixes, 70% IPv4 / 30% IPv6, mixed lengths, recycled addresses, plus 200,000 domains) in
 * memory — not through the database: this measures the snapshot — and reports build time and memory,
 * lookups/s for IPv4, IPv6 and domains on one core with half of the lookups hitting, the same number of
 * `Map.get` calls on exact keys as the baseline, and the ratio. Ends with one JSON line.
 *
 * The machine this runs on is shared, so besides wall-clock rates (best of five rounds) it reports rates
 * per second of this process's CPU time (`process.cpuUsage`), which time spent descheduled does not
 * inflate, and the number of full garbage collections during the build (a count, independent of load).
 * The registry is handed to the builder as columns, as `loadRegistrySnapshot` does, with the row objects
 * already dropped.
 */
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { attribute } from '../src/attribution/attribute.js';
import { parsePrefix } from '../src/registry/ip-address.js';
import { generateRegistry, seededRandom, toSnapshotInput } from '../src/registry/registry-generator.js';
import { assignmentColumns, RegistrySnapshot } from '../src/registry/registry-snapshot.js';

const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
const TARGETS = {
  v4: Math.round(700_000 * scale),
  v6: Math.round(300_000 * scale),
  domains: Math.round(200_000 * scale),
};
const QUERIES = 1 << 21;
const ROUNDS = 5;
const log = (line: string) => process.stderr.write(`${line}\n`);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

log(`generating registry ${JSON.stringify(TARGETS)} …`);
let t0 = performance.now();
// In a function so that the generator's row objects are garbage by the time the snapshot is built.
function generateInput() {
  const generated = toSnapshotInput(generateRegistry({ targets: TARGETS, seed: 42 }), { epochMs: true });
  const columns = {
    ...assignmentColumns(generated.assignments),
    // Flat strings, as a database driver hands them over (the generator's template literals are rope
    // strings, which would make the heap, and so every garbage collection during the build, larger).
    resource: generated.assignments.map((a) => Buffer.from(a.resource, 'latin1').toString('latin1')),
  };
  return { customers: generated.customers, services: generated.services, assignments: columns };
}
const input = generateInput();
const columns = input.assignments;
const assignmentCount = columns.id.length;
log(`  ${assignmentCount} assignments in ${(performance.now() - t0).toFixed(0)} ms`);

// Registry shape actually generated.
const tenants = new Map<string, number>();
for (const resource of columns.resource) tenants.set(resource, (tenants.get(resource) ?? 0) + 1);
let v4Prefixes = 0;
let v6Prefixes = 0;
let domains = 0;
let multiTenant = 0;
for (const [resource, count] of tenants) {
  if (!resource.includes('/')) domains++;
  else if (resource.includes(':')) v6Prefixes++;
  else v4Prefixes++;
  if (resource.includes('/') && count > 1) multiTenant++;
}
log(
  `  distinct: ${v4Prefixes} IPv4 + ${v6Prefixes} IPv6 prefixes (${((100 * multiTenant) / (v4Prefixes + v6Prefixes)).toFixed(1)}% with 2+ tenants), ${domains} domains`,
);

tenants.clear();
gc();
gc();
let fullGcs = 0;
let fullGcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // kind 4 is NODE_PERFORMANCE_GC_MAJOR (mark-compact).
    if ((entry as { detail?: { kind?: number } }).detail?.kind === 4) {
      fullGcs++;
      fullGcMs += entry.duration;
    }
  }
});
gcObserver.observe({ entryTypes: ['gc'] });
const before = process.memoryUsage();
const cpuBefore = process.cpuUsage();
t0 = performance.now();
const snapshot = RegistrySnapshot.build(input);
const buildMs = performance.now() - t0;
const buildCpu = process.cpuUsage(cpuBefore);
const buildCpuMs = (buildCpu.user + buildCpu.system) / 1000;
// Let the observer deliver the entries of the build before the next collections.
await new Promise((resolve) => setTimeout(resolve, 10));
gcObserver.disconnect();
gc();
gc();
const after = process.memoryUsage();
const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const memory = {
  heapDeltaMB: mb(after.heapUsed - before.heapUsed),
  externalDeltaMB: mb(after.external + after.arrayBuffers - before.external - before.arrayBuffers) / 2,
  rssDeltaMB: mb(after.rss - before.rss),
  indexMB: mb(snapshot.stats.indexBytes),
};
log(
  `build: ${buildMs.toFixed(0)} ms (CPU ${buildCpuMs.toFixed(0)} ms; ${fullGcs} full GCs, ${fullGcMs.toFixed(0)} ms); memory ${JSON.stringify(memory)}`,
);

// ---- queries: half hit (inside a prefix, inside one of its tenancies), half miss (a quarter random
// addresses, a quarter inside an assigned prefix but at a time nobody held it).
const random = seededRandom(7);
const span = { from: Date.UTC(2019, 0, 1), to: Date.UTC(2026, 0, 1) };
const v4Rows: { p: { v4: number; length: number }; from: number; to: number }[] = [];
const v6Rows: { p: { v6: readonly number[]; length: number }; text: string; from: number; to: number }[] = [];
const domainRows: { name: string; from: number; to: number }[] = [];
for (let a = 0; a < assignmentCount; a++) {
  const resource = columns.resource[a]!;
  const from = columns.validFrom[a]!;
  const to = columns.validTo[a] === Number.POSITIVE_INFINITY ? span.to : columns.validTo[a]!;
  if (!resource.includes('/')) domainRows.push({ name: resource, from, to });
  else {
    const p = parsePrefix(resource);
    if (p.family === 4) v4Rows.push({ p, from, to });
    else v6Rows.push({ p, text: resource.split('/')[0]!, from, to });
  }
}
const pickRow = <T>(rows: T[]) => rows[Math.floor(random() * rows.length)]!;
const timeIn = (from: number, to: number) => from + random() * (to - from);
const BEFORE_ALL = Date.UTC(2018, 5, 1);

const v4Addr = new Uint32Array(QUERIES);
const v4Time = new Float64Array(QUERIES);
const v4Exact = new Float64Array(QUERIES);
for (let q = 0; q < QUERIES; q++) {
  const r = pickRow(v4Rows);
  const inside = (r.p.v4 + Math.floor(random() * 2 ** (32 - r.p.length))) >>> 0;
  const kind = q % 4;
  if (kind < 2) {
    v4Addr[q] = inside;
    v4Time[q] = timeIn(r.from, r.to);
    v4Exact[q] = r.p.v4;
  } else if (kind === 2) {
    v4Addr[q] = v4Exact[q] = Math.floor(random() * 2 ** 32);
    v4Time[q] = timeIn(span.from, span.to);
  } else {
    v4Addr[q] = inside;
    v4Exact[q] = Math.floor(random() * 2 ** 32); // an exact-key miss for the baseline (almost surely)
    v4Time[q] = BEFORE_ALL;
  }
}
const v6Words = new Uint32Array(4 * QUERIES);
const v6Time = new Float64Array(QUERIES);
const v6Exact: string[] = new Array(QUERIES);
for (let q = 0; q < QUERIES; q++) {
  const r = pickRow(v6Rows);
  const w = [...r.p.v6];
  const hostBits = Math.min(32, 128 - r.p.length);
  if (hostBits > 0) w[3] = (w[3]! | Math.floor(random() * 2 ** hostBits)) >>> 0;
  const kind = q % 4;
  if (kind === 2) {
    for (let k = 0; k < 4; k++) w[k] = Math.floor(random() * 2 ** 32);
    w[0] = (0x20000000 | (w[0]! & 0x1fffffff)) >>> 0; // somewhere in 2000::/3
  }
  v6Words.set(w, 4 * q);
  v6Time[q] = kind < 2 ? timeIn(r.from, r.to) : kind === 2 ? timeIn(span.from, span.to) : BEFORE_ALL;
  v6Exact[q] = kind < 2 ? r.text : `${r.text}${kind}`;
}
const domainName: string[] = new Array(QUERIES);
const domainTime = new Float64Array(QUERIES);
const domainExact: string[] = new Array(QUERIES);
const SUBS = ['www.', 'mail.', 'shop.a.', 'cdn.static.', ''];
for (let q = 0; q < QUERIES; q++) {
  const r = pickRow(domainRows);
  const kind = q % 4;
  const name =
    kind === 2
      ? `${SUBS[q % 5]}${r.name.replace(/^[a-z]/, 'zq')}x.example-miss.net`
      : `${SUBS[q % 5]}${r.name}`;
  // Fresh string objects, as parsed events would hand us (no hash cached from building the queries).
  domainName[q] = name.split('').join('');
  domainTime[q] = kind < 2 ? timeIn(r.from, r.to) : kind === 2 ? timeIn(span.from, span.to) : BEFORE_ALL;
  domainExact[q] = (kind < 2 ? r.name : `${r.name}-miss`).split('').join('');
}

function rate(label: string, run: () => number): { perSecond: number; perCpuSecond: number; hits: number } {
  let best = 0;
  let bestCpu = 0;
  let hits = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const cpu = process.cpuUsage();
    const start = performance.now();
    hits = run();
    const seconds = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    best = Math.max(best, QUERIES / seconds);
    bestCpu = Math.max(bestCpu, QUERIES / ((used.user + used.system) / 1e6));
  }
  log(
    `  ${label}: ${(best / 1e6).toFixed(2)} M/s wall, ${(bestCpu / 1e6).toFixed(2)} M/s per CPU second (hit ${((100 * hits) / QUERIES).toFixed(1)}%)`,
  );
  return { perSecond: Math.round(best), perCpuSecond: Math.round(bestCpu), hits: hits / QUERIES };
}

log('lookups (best of 5 rounds of 2,097,152):');
const v4 = rate('IPv4 snapshot', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) if (snapshot.lookupV4(v4Addr[q]!, v4Time[q]!) >= 0) hits++;
  return hits;
});
const v4Map = new Map<number, number>();
for (let i = 0; i < v4Rows.length; i++) v4Map.set(v4Rows[i]!.p.v4, i);
const v4Base = rate('IPv4 Map.get', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) if (v4Map.get(v4Exact[q]!) !== undefined) hits++;
  return hits;
});
const v6 = rate('IPv6 snapshot', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) {
    const o = 4 * q;
    if (snapshot.lookupV6(v6Words[o]!, v6Words[o + 1]!, v6Words[o + 2]!, v6Words[o + 3]!, v6Time[q]!) >= 0)
      hits++;
  }
  return hits;
});
const v6Map = new Map<string, number>();
for (let i = 0; i < v6Rows.length; i++) v6Map.set(v6Rows[i]!.text, i);
const v6Base = rate('IPv6 Map.get', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) if (v6Map.get(v6Exact[q]!) !== undefined) hits++;
  return hits;
});
const dom = rate('domains snapshot', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) if (snapshot.lookupDomain(domainName[q]!, domainTime[q]!) >= 0) hits++;
  return hits;
});
const domainMap = new Map<string, number>();
for (let i = 0; i < domainRows.length; i++) domainMap.set(domainRows[i]!.name, i);
const domBase = rate('domains Map.get', () => {
  let hits = 0;
  for (let q = 0; q < QUERIES; q++) if (domainMap.get(domainExact[q]!) !== undefined) hits++;
  return hits;
});

// End to end from text through attribute() (parse, look up, build the answer object): informational.
const E2E = 200_000;
const texts = Array.from({ length: E2E }, (_, q) => {
  const a = v4Addr[q]!;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
});
const dates = Array.from({ length: E2E }, (_, q) => new Date(v4Time[q]!));
let e2eBest = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = performance.now();
  let ours = 0;
  for (let q = 0; q < E2E; q++) if (attribute(snapshot, { ip: texts[q]!, at: dates[q]! }).ours) ours++;
  e2eBest = Math.max(e2eBest, E2E / ((performance.now() - start) / 1000));
  if (ours === 0) throw new Error('no attribution hit');
}
log(`  attribute() from IPv4 text, full answer: ${(e2eBest / 1e6).toFixed(2)} M/s`);

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const result = {
  bench: 'attribution',
  machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`,
  registry: {
    v4Prefixes,
    v6Prefixes,
    domains,
    assignments: assignmentCount,
    multiTenantShare: ratio(multiTenant, v4Prefixes + v6Prefixes),
  },
  loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  buildMs: Math.round(buildMs),
  buildCpuMs: Math.round(buildCpuMs),
  buildFullGcs: fullGcs,
  buildFullGcMs: Math.round(fullGcMs),
  memory,
  v4: {
    perSecond: v4.perSecond,
    perCpuSecond: v4.perCpuSecond,
    hitRate: ratio(v4.hits, 1),
    mapGetPerSecond: v4Base.perSecond,
    mapGetPerCpuSecond: v4Base.perCpuSecond,
    ratio: ratio(v4.perSecond, v4Base.perSecond),
    cpuRatio: ratio(v4.perCpuSecond, v4Base.perCpuSecond),
  },
  v6: {
    perSecond: v6.perSecond,
    perCpuSecond: v6.perCpuSecond,
    hitRate: ratio(v6.hits, 1),
    mapGetPerSecond: v6Base.perSecond,
    mapGetPerCpuSecond: v6Base.perCpuSecond,
    ratio: ratio(v6.perSecond, v6Base.perSecond),
    cpuRatio: ratio(v6.perCpuSecond, v6Base.perCpuSecond),
  },
  domains: {
    perSecond: dom.perSecond,
    perCpuSecond: dom.perCpuSecond,
    hitRate: ratio(dom.hits, 1),
    mapGetPerSecond: domBase.perSecond,
    mapGetPerCpuSecond: domBase.perCpuSecond,
    ratio: ratio(dom.perSecond, domBase.perSecond),
    cpuRatio: ratio(dom.perCpuSecond, domBase.perCpuSecond),
  },
  attributeV4TextPerSecond: Math.round(e2eBest),
  targets: {
    v4: v4.perSecond >= 10e6,
    v6: v6.perSecond >= 3e6,
    domains: dom.perSecond >= 3e6,
    buildMs: buildMs <= 3000,
    memory: memory.rssDeltaMB <= 500,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
