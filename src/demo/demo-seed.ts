import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Logger } from 'pino';
import { createUser, listUsers, setUserPassword } from '../accounts/user-repository.js';
import { reportStatusOf } from '../cases/queries/report-status.js';
import type { Clock } from '../enforcement/outbox/clock.js';
import { isAupError } from '../errors.js';
import { complaintFormSchema, composeComplaintMessage } from '../intake/channels/web-form-complaint.js';
import type { EvidenceStore } from '../intake/evidence-store.js';
import { acceptReport } from '../intake/inbox/inbox-accept.js';
import { parseReport } from '../intake/parse-report.js';
import type { Channel } from '../intake/report.js';
import { listPolicyVersions } from '../policy/policy-repository.js';
import { toRegistryCsv } from '../registry/registry-csv-writer.js';
import { parseRegistryCsv } from '../registry/registry-file-parser.js';
import { generateRegistry } from '../registry/registry-generator.js';
import { importRegistry } from '../registry/registry-import.js';
import { findCustomerByRef } from '../registry/registry-repository.js';
import { ALL_COLUMNS } from '../registry/registry-row.js';
import type { RegistrySnapshotHolder } from '../registry/registry-snapshot.js';
import type { Store } from '../store/database.js';

/**
 * `aupdesk serve --demo`: a desk with something in it. One provider's published policy (iITGEN by default),
 * a generated registry (`registry generate` then `registry import`), a demo customer holding the addresses the
 * sample complaints name, three people (admin, analyst, the customer) with fresh passwords, and a handful of
 * complaints taken through the real intake and pipeline: an ARF feedback report, a Shadowserver file, a DMCA
 * notice, a free-text complaint and an anonymous one through the form's composer.
 *
 * The samples are the test fixtures we wrote (test/fixtures/intake), re-dated to yesterday: the policy's
 * 90-day age limit would otherwise reject January's events. Everything is idempotent: a second `--demo` run
 * finds the registry and complaints already there and only resets the demo passwords (printed again).
 */

/**
 * The running desk the demo is seeded into: what `serve` hands over (its ServeContext has all of this), so
 * the demo depends on the desk's parts and not on the server that assembles them.
 */
export interface DemoDesk {
  readonly store: Store;
  readonly evidence: EvidenceStore;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  readonly registry: Pick<RegistrySnapshotHolder, 'refresh'>;
  /** Runs the inbox to empty and one enforcement round. */
  runOnce(): Promise<unknown>;
}

export const DEMO_DOMAIN = 'demo.aupdesk.example';
const DEMO_CUSTOMER = 'DEMO-CUSTOMER';

export interface DemoLogin {
  readonly email: string;
  readonly role: 'admin' | 'analyst' | 'customer';
  readonly password: string;
}

export interface DemoComplaint {
  readonly label: string;
  readonly channel: Channel;
  readonly inboxId: string;
  readonly caseRefs: readonly string[];
  readonly note?: string | undefined;
}

export interface DemoSeedResult {
  readonly provider: string;
  readonly customers: number;
  readonly logins: readonly DemoLogin[];
  readonly complaints: readonly DemoComplaint[];
}

interface Sample {
  readonly label: string;
  readonly file: string;
  readonly channel: Channel;
  readonly route: string;
  /** A plain-text sample sent as a mail from this person (the fixture is the body only). */
  readonly from?: { readonly name: string; readonly address: string };
}

const SAMPLES: readonly Sample[] = [
  {
    label: 'ARF feedback report (mailbox provider)',
    file: 'arf/deviations-version-0.1.eml',
    channel: 'smtp',
    route: 'abuse',
  },
  {
    label: 'Shadowserver honeypot brute-force report',
    file: 'shadowserver/2026-01-15-event4_honeypot_brute_force-example_org-geo.csv',
    channel: 'file',
    route: 'abuse',
  },
  { label: 'DMCA notice', file: 'dmca/complete-photographer.txt', channel: 'smtp', route: 'dmca' },
  {
    label: 'Free-text SSH brute-force complaint',
    file: 'free-text/ssh-bruteforce-complaint.txt',
    channel: 'smtp',
    route: 'abuse',
    from: { name: 'Jane Operator', address: 'noc@example-hosting.example' },
  },
];

/** The folder of the intake fixtures, found from the package root (source or built code). */
export function fixturesDir(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const candidate = path.join(dir, 'test', 'fixtures', 'intake');
      return existsSync(candidate) ? candidate : undefined;
    }
    dir = path.dirname(dir);
  }
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const LONG_MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * Moves the January 2026 dates of a fixture to `day` (its UTC date), keeping times of day: RFC 5322 dates
 * (with the weekday), ISO dates, syslog's `Jan 15` and `January 15, 2026`.
 */
export function redate(text: string, day: Date): string {
  const d = day.getUTCDate();
  const m = day.getUTCMonth();
  const y = day.getUTCFullYear();
  const iso = day.toISOString().slice(0, 10);
  return text
    .replace(
      /\b(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} Jan 2026\b/g,
      (_all, weekday: string | undefined) =>
        `${weekday ? `${DAYS[day.getUTCDay()]}, ` : ''}${d} ${MONTHS[m]} ${y}`,
    )
    .replace(/\b2026-01-\d{2}\b/g, iso)
    .replace(/\bJanuary \d{1,2}, 2026\b/g, `${LONG_MONTHS[m]} ${d}, ${y}`)
    .replace(/^Jan (\d{1,2})\b/gm, `${MONTHS[m]} ${String(d).padStart(2, ' ')}`);
}

export async function seedDemo(
  ctx: DemoDesk,
  options: { provider: string; customers?: number },
): Promise<DemoSeedResult> {
  const { store, clock, logger } = ctx;
  const db = store.db;
  const now = clock.now();
  const versions = await listPolicyVersions(db, options.provider);
  const inForce = versions.filter((v) => Date.parse(v.effectiveAt) <= now.getTime()).at(-1) ?? versions[0];
  if (!inForce) throw new Error(`demo: no policy of ${options.provider} is published`);

  // 1. A generated registry, as `registry generate --customers N` then `registry import` would make it.
  const generated = generateRegistry({
    customers: options.customers ?? 200,
    seed: 1,
    policy: { provider: options.provider, version: inForce.version },
  });
  const imported = await importRegistry(db, parseRegistryCsv(toRegistryCsv(generated)));
  logger.info(
    { customers: generated.length, rows: imported.rows, failed: imported.failed },
    'demo registry imported',
  );

  // 2. The samples, re-dated, and the addresses they name held by the demo customer.
  const dir = fixturesDir();
  // Noon UTC yesterday: the composed samples' bytes stay the same all day, so a rerun finds them duplicates.
  const yesterday = new Date(Math.floor(now.getTime() / 86_400_000) * 86_400_000 - 43_200_000);
  const samples: Array<Sample & { bytes: Uint8Array; fileName: string }> = [];
  if (dir) {
    for (const sample of SAMPLES) {
      const file = path.join(dir, sample.file);
      if (!existsSync(file)) continue;
      const text = redate((await readFile(file, 'latin1')).replace(/^\uFEFF/, ''), yesterday);
      const bytes = sample.from
        ? await new MailComposer({
            from: sample.from,
            to: `${sample.route}@${DEMO_DOMAIN}`,
            subject: 'Abuse from your network',
            date: yesterday,
            messageId: `<demo-${sample.file.replace(/[^a-z0-9]/gi, '-')}@${DEMO_DOMAIN}>`,
            text: Buffer.from(text, 'latin1').toString('utf8'),
          })
            .compile()
            .build()
        : Buffer.from(text, 'latin1');
      samples.push({ ...sample, bytes, fileName: redate(path.basename(file), yesterday) });
    }
  } else {
    logger.warn('demo: test/fixtures/intake not found (installed package?): no sample complaints seeded');
  }
  const resources = new Set<string>();
  for (const s of samples) {
    const parsed = await parseReport({
      bytes: s.bytes,
      fileName: s.fileName,
      channel: s.channel,
      receivedAt: now,
    });
    for (const e of parsed.events) {
      const ip = e['source.ip'];
      if (ip) resources.add(ip.includes(':') ? `${ip}/128` : `${ip}/32`);
      const host = e['source.fqdn'] ?? hostOf(e['source.url']);
      if (host && !/^[0-9.:[\]]+$/.test(host)) resources.add(host.toLowerCase());
    }
  }
  resources.add('203.0.113.45/32'); // the free-text complaint's source, also used by the anonymous one
  const rows = [...resources].map((resource, i) => ({
    customer: DEMO_CUSTOMER,
    email: `customer@${DEMO_DOMAIN}`,
    service: `DEMO-SVC-${resource.includes('/') ? 'VPS' : 'WEB'}`,
    kind: resource.includes('/') ? 'vps' : 'shared-hosting',
    resource,
    valid_from: '2015-01-01T00:00:00Z',
    valid_to: '',
    customer_name: i === 0 ? 'Demo Hosting Customer Ltd' : '',
    country: i === 0 ? 'NL' : '',
    customer_status: i === 0 ? 'active' : '',
    service_status: 'active',
    provisioning_ref: '',
    policy_provider: i === 0 ? options.provider : '',
    policy_version: i === 0 ? inForce.version : '',
    policy_accepted_at: i === 0 ? '2015-01-01T00:00:00Z' : '',
  }));
  const csv = [
    ALL_COLUMNS.join(','),
    ...rows.map((r) => ALL_COLUMNS.map((c) => (r as Record<string, string>)[c] ?? '').join(',')),
  ].join('\n');
  const demoImport = await importRegistry(db, parseRegistryCsv(`${csv}\n`));
  if (demoImport.errors.length > 0) {
    // An address the generated registry already holds stays with its generated customer: still attributable.
    logger.info(
      { skipped: demoImport.errors.map((e) => e.message) },
      'demo customer: some addresses already held',
    );
  }
  await ctx.registry.refresh();
  const customer = await findCustomerByRef(db, DEMO_CUSTOMER);

  // 3. People, with passwords printed once per start.
  const wanted: Array<{ email: string; role: DemoLogin['role']; customerId?: number }> = [
    { email: `admin@${DEMO_DOMAIN}`, role: 'admin' },
    { email: `analyst@${DEMO_DOMAIN}`, role: 'analyst' },
    ...(customer
      ? [{ email: `customer@${DEMO_DOMAIN}`, role: 'customer' as const, customerId: customer.id }]
      : []),
  ];
  const existing = new Set((await listUsers(db)).map((u) => u.email));
  const logins: DemoLogin[] = [];
  for (const u of wanted) {
    const password = randomBytes(12).toString('base64url');
    if (existing.has(u.email)) await setUserPassword(db, u.email, password);
    else
      await createUser(db, { email: u.email, role: u.role, customerId: u.customerId ?? null, password, now });
    logins.push({ email: u.email, role: u.role, password });
  }

  // 4. The complaints, through the intake door like any other, then processed and enforced once.
  const complaints: Array<Omit<DemoComplaint, 'caseRefs'>> = [];
  const evidenceDeps = { db, evidence: ctx.evidence };
  for (const s of samples) {
    const accepted = await acceptReport(evidenceDeps, {
      bytes: s.bytes,
      channel: s.channel,
      route: s.route,
      receivedAt: now,
      fileName: s.fileName,
      ...(s.channel === 'smtp'
        ? {
            envelope: {
              mailFrom: `reporter@${DEMO_DOMAIN}`,
              rcptTo: [`${s.route}@${DEMO_DOMAIN}`],
              remoteAddress: '127.0.0.1',
            },
          }
        : {}),
    });
    complaints.push({ label: s.label, channel: s.channel, inboxId: accepted.inboxId });
  }
  const anonymous = complaintFormSchema(false).parse({
    kind: 'scanning',
    target: '203.0.113.45',
    when: yesterday.toISOString().slice(0, 16),
    description: 'Someone at 203.0.113.45 keeps scanning our whole /24 for open RDP ports.',
  });
  const anonymousBytes = await composeComplaintMessage({
    form: anonymous,
    receivedAt: yesterday,
    deskAddress: `abuse@${DEMO_DOMAIN}`,
    formUrl: 'demo',
    remoteAddress: '127.0.0.1',
    formToken: 'demo-anonymous',
  });
  const anon = await acceptReport(evidenceDeps, {
    bytes: anonymousBytes,
    channel: 'form',
    route: 'abuse',
    receivedAt: now,
  });
  complaints.push({
    label: 'Anonymous complaint through the web form',
    channel: 'form',
    inboxId: anon.inboxId,
  });

  try {
    await ctx.runOnce();
  } catch (error) {
    if (!isAupError(error)) throw error;
    logger.warn({ err: error.message }, 'demo: processing the sample complaints failed');
  }
  const withCases: DemoComplaint[] = [];
  for (const c of complaints) {
    const status = await reportStatusOf(db, c.inboxId);
    withCases.push({ ...c, caseRefs: status?.caseRefs ?? [], note: status?.note });
  }
  return {
    provider: options.provider,
    customers: generated.length + (customer ? 1 : 0),
    logins,
    complaints: withCases,
  };
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}
