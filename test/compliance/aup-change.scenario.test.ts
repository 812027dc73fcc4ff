import { expect, it } from 'vitest';
import { stringify } from 'yaml';
import { listAudit } from '../../src/audit/audit-log.js';
import { getCase } from '../../src/cases/case-repository.js';
import { waivePolicyVersion } from '../../src/compliance/policy-waivers.js';
import { publishPolicyWithNotices } from '../../src/compliance/publish-policy-version.js';
import { isAupError } from '../../src/errors.js';
import { loadPolicyFile, parsePolicySource } from '../../src/policy/policy-loader.js';
import { publishPolicyVersion } from '../../src/policy/policy-repository.js';
import type { Store } from '../../src/store/database.js';
import {
  ddosFrom,
  describeScenarios,
  noticeFacts,
  scenarioRegistry,
  spamFrom,
} from '../scenarios/scenario-harness.js';

/**
 * AUP change management through the real store, the outbox and the SMTP sink. iITGEN: "if we change this
 * AUP in a material manner, we will provide you with notice via email": a material change mails every
 * affected customer once, however often it is published; an editorial one mails nobody. Secure Packet: a
 * waiver keeps a customer on the previous version past the 90-day grace period.
 */

async function publishSeeds(store: Store, provider: string, versions: readonly string[]): Promise<void> {
  for (const v of versions)
    await publishPolicyVersion(store.db, await loadPolicyFile(`policies/${provider}/${v}.yaml`));
}

/** A new iITGEN version from the seed: the cure period halved (material) or a title reworded (editorial). */
async function iitgenVersion(version: string, change: 'material' | 'editorial') {
  const seed = await loadPolicyFile('policies/iitgen/2018-02-24.yaml');
  const doc = structuredClone(seed.document) as unknown as Record<string, unknown> & {
    terms: { enforcement: { cure_period: string } };
    clauses: Array<{ title: string }>;
  };
  doc.version = version;
  doc.published_at = `${version}T00:00:00Z`;
  doc.effective_at = `${version}T00:00:00Z`;
  doc.supersedes = '2018-02-24';
  if (change === 'material') doc.terms.enforcement.cure_period = 'P3D';
  else doc.clauses[0]!.title = `${doc.clauses[0]!.title} `.trim().replace(/^(.)/, (c) => c.toUpperCase());
  return parsePolicySource(stringify(doc), `${version}.yaml`);
}

describeScenarios('AUP change notices (iITGEN)', 'iitgen', (ctx) => {
  it('a material change mails every affected customer once, with the changes and the diff link', async () => {
    const desk = await ctx.open('2026-12-10T09:00:00.000Z');
    await publishSeeds(ctx.store, 'iitgen', ['2018-02-24']);
    const next = await iitgenVersion('2026-12-10', 'material');
    const meta = {
      at: desk.clock.now(),
      actor: 'user:admin@desk.example' as const,
      publicUrl: 'https://abuse.example.net/',
    };
    const first = await publishPolicyWithNotices(ctx.store.db, next, meta);
    expect(first.status).toBe('published');
    expect(first.notices).toMatchObject({
      announced: true,
      material: true,
      from: '2018-02-24',
      alreadyQueued: [],
    });
    expect([...first.notices.queued].sort()).toEqual(scenarioRegistry.customers.map((c) => c.ref).sort());

    // Published again (the console button pressed twice, the CLI re-run): nobody is told twice.
    const again = await publishPolicyWithNotices(ctx.store.db, next, meta);
    expect(again.status).toBe('unchanged');
    expect(again.notices.queued).toEqual([]);
    expect(again.notices.alreadyQueued).toHaveLength(scenarioRegistry.customers.length);

    await desk.runEnforcement();
    for (const customer of scenarioRegistry.customers) {
      const mails = desk.mailTo(customer.emails![0]!);
      expect(mails, customer.ref).toHaveLength(1);
      const facts = noticeFacts(mails[0]!);
      expect(facts.subject).toContain('changes to our Acceptable Use Policy (2026-12-10)');
      expect(facts.text).toContain('Version 2026-12-10 replaces 2018-02-24');
      expect(facts.text).toContain('- terms.enforcement.cure_period: "P7D" → "P3D" (shortened)');
      expect(facts.text).toContain('https://abuse.example.net/aup/diff?from=2018-02-24&to=2026-12-10');
      expect(facts.autoSubmitted).toBe('auto-generated');
    }
    const audit = await listAudit(ctx.store.db, { subject: 'policy:iitgen/2026-12-10' });
    expect(audit.filter((e) => e.kind === 'policy.change-notices')).toHaveLength(1);
  });

  it('an editorial change mails nobody, and says why', async () => {
    const desk = await ctx.open('2026-12-11T09:00:00.000Z');
    await publishSeeds(ctx.store, 'iitgen', ['2018-02-24']);
    const result = await publishPolicyWithNotices(
      ctx.store.db,
      await iitgenVersion('2026-12-11', 'editorial'),
      {
        at: desk.clock.now(),
        actor: 'system:cli',
      },
    );
    expect(result.notices).toMatchObject({ announced: false, material: false, queued: [] });
    expect(result.notices.reason).toMatch(/not material/);
    await desk.runEnforcement();
    expect(ctx.sinks.mail.filter((m) => m.parsed.subject?.includes('Acceptable Use Policy'))).toHaveLength(0);
  });
});

describeScenarios('AUP waivers (Secure Packet)', 'securepacket', (ctx) => {
  it('a waiver keeps a customer on the old version past the 90-day grace period; others move on', async () => {
    // 2027-03-01 took effect; its grace period on 2026-11-22 ended on 2027-05-30.
    const desk = await ctx.open('2027-06-15T09:00:00.000Z');
    await publishSeeds(ctx.store, 'securepacket', ['2026-11-22', '2027-03-01']);
    const meta = { at: desk.clock.now(), actor: 'user:analyst@desk.example' as const };
    const waived = await waivePolicyVersion(ctx.store.db, {
      customerRef: 'gamehost',
      provider: 'securepacket',
      version: '2027-03-01',
      reason: 'the new mail terms would end its newsletter business; agreed with account management',
      ...meta,
    });
    expect(waived.created).toBe(true);

    const ddos = await desk.submit(ddosFrom('198.51.100.33', '2027-06-15T09:00:00.000Z'));
    const spam = await desk.submit(spamFrom('198.51.100.10', '2027-06-15T09:00:00.000Z'));
    const waivedCase = await getCase(ctx.store.db, ddos.cases[0]!.ref);
    const otherCase = await getCase(ctx.store.db, spam.cases[0]!.ref);
    expect(waivedCase).toMatchObject({ customerRef: 'gamehost', policyVersion: '2026-11-22' });
    expect(otherCase).toMatchObject({ customerRef: 'acme-mail', policyVersion: '2027-03-01' });
    const audit = await listAudit(ctx.store.db, { kind: 'customer.policy-waived' });
    expect(audit.at(-1)?.payload).toMatchObject({ customer: 'gamehost', version: '2027-03-01' });
  });

  it('refuses a waiver the policy does not provide for, and one without a reason', async () => {
    const desk = await ctx.open('2027-06-15T09:00:00.000Z');
    await publishSeeds(ctx.store, 'securepacket', ['2026-11-22', '2027-03-01']);
    const base = {
      customerRef: 'gamehost',
      provider: 'securepacket',
      at: desk.clock.now(),
      actor: 'system:cli' as const,
    };
    const first = await waivePolicyVersion(ctx.store.db, {
      ...base,
      version: '2026-11-22',
      reason: 'x',
    }).catch((e) => e);
    expect(isAupError(first, 'AUP_ERR_INPUT_INVALID')).toBe(true);
    expect((first as Error).message).toMatch(/first securepacket version/);
    const noReason = await waivePolicyVersion(ctx.store.db, {
      ...base,
      version: '2027-03-01',
      reason: ' ',
    }).catch((e) => e);
    expect((noReason as Error).message).toMatch(/reason/);
  });
});
