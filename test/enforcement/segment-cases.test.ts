import { beforeEach, describe, expect, it, vi } from 'vitest';
import { verifyAudit } from '../../src/audit/audit-log.js';
import { type CaseRecord, getCase, listCases } from '../../src/cases/case-repository.js';
import { holdCase } from '../../src/enforcement/commands/hold-case.js';
import { JudgedEvents } from '../../src/enforcement/pipeline/event-judging.js';
import {
  judgeSegmentAhead,
  processReportSegment,
  type SegmentCarry,
  SegmentCases,
} from '../../src/enforcement/pipeline/report-segment.js';
import type { IntakeEvent } from '../../src/intake/event.js';
import { eventFingerprint } from '../../src/intake/event-fingerprint.js';
import type { ReportSegment } from '../../src/intake/inbox/inbox-types.js';
import { makePolicy } from '../factories.js';
import {
  clockAt,
  historyOf,
  pipelineDeps,
  reportOf,
  resetDesk,
  seedRegistry,
} from '../support/case-support.js';
import { describeEachBackend } from '../support/store-backends.js';

/**
 * A big report's segments keep the cases they leave for the next one (report-segment.ts `SegmentCases`), and
 * read again only the cases changed since. A case an analyst changes between two segments must reach the
 * next segment as changed: a stale copy would be judged on and written back over the analyst's change.
 */

const registry = {
  customers: [{ ref: 'cust-a', emails: ['ops@a.example'] }],
  services: [
    { ref: 'vps-a', customer: 'cust-a' },
    { ref: 'vps-b', customer: 'cust-a' },
  ],
  assignments: [
    { service: 'vps-a', resource: '198.51.100.0/25', from: '2025-01-01T00:00:00Z' },
    { service: 'vps-b', resource: '198.51.100.128/25', from: '2025-01-01T00:00:00Z' },
  ],
};

describeEachBackend('a segmented report keeps its cases from one segment to the next', (ctx) => {
  beforeEach(async () => {
    await resetDesk(ctx.store);
  });

  async function setup() {
    const snapshot = await seedRegistry(ctx.store, registry);
    const clock = clockAt('2026-03-01T12:00:00.000Z');
    return pipelineDeps(ctx.store, snapshot, historyOf(makePolicy()), clock);
  }

  /** A report's segments: `sizes` events each, alternating between the two services, a minute apart. */
  function segmentsOf(sizes: readonly number[]): ReportSegment[] {
    const { events: _events, errors: _errors, status: _status, ...head } = reportOf({ channel: 'file' });
    let n = 0;
    return sizes.map((size, i) => {
      const events: IntakeEvent[] = [];
      for (let k = 0; k < size; k++, n++) {
        events.push(
          reportOf({
            events: [
              {
                'source.ip': n % 2 === 0 ? `198.51.100.${1 + (n % 100)}` : `198.51.100.${129 + (n % 100)}`,
                'time.source': new Date(Date.parse('2026-03-01T10:00:00.000Z') + n * 60_000).toISOString(),
              },
            ],
          }).events[0]!,
        );
      }
      const last = i === sizes.length - 1;
      return {
        head,
        events,
        fingerprints: events.map((e) => eventFingerprint(head.evidenceSha256, e)),
        ...(last ? { end: { status: 'parsed' as const, errors: [], errorCount: 0 } } : {}),
      };
    });
  }

  async function run(
    deps: ReturnType<typeof pipelineDeps>,
    segment: ReportSegment,
    earlier: SegmentCarry | null,
    cases: SegmentCases,
  ): Promise<SegmentCarry> {
    const done = await ctx.store.db
      .transaction()
      .execute((trx) => processReportSegment(trx, deps, segment, earlier, cases));
    return done.carry;
  }

  it('reads again a case an analyst put on hold between two segments, and keeps the hold', async () => {
    const deps = await setup();
    const cases = new SegmentCases();
    const [first, second, third] = segmentsOf([6, 6, 4]);
    const after1 = await run(deps, first!, null, cases);
    expect(await listCases(ctx.store.db, {})).toHaveLength(2);

    // Between the segments: an analyst holds the first case (its row's version moves on).
    const held = await holdCase(deps, { caseRef: 'AUP-000001', analyst: 'alice', note: 'on the phone' });
    expect(held.case.status).toBe('on-hold');

    const after2 = await run(deps, second!, after1, cases);
    await run(deps, third!, after2, cases);

    const one = (await getCase(ctx.store.db, 1)) as CaseRecord;
    expect(one.status).toBe('on-hold');
    expect(one.state.interventions).toEqual([expect.objectContaining({ command: { kind: 'hold' } })]);
    // Every event of the report joined its service's case, the held one included.
    expect(one.state.subjects.addresses).toHaveLength(8);
    expect(((await getCase(ctx.store.db, 2)) as CaseRecord).state.subjects.addresses).toHaveLength(8);
    expect(await verifyAudit(ctx.store.db)).toMatchObject({ ok: true });
  });

  it('takes a segment judged ahead, before the one before it committed, and still finds that one’s events as duplicates', async () => {
    const twoSegments = async (fits: boolean) => {
      await resetDesk(ctx.store);
      const deps = await setup();
      const cases = new SegmentCases();
      const [first, second] = segmentsOf([6, 6]) as [ReportSegment, ReportSegment];
      // The second segment's third event repeats the first's fourth: a duplicate of an event written by the
      // segment being committed while the second is judged.
      const events = [...second.events];
      const fingerprints = [...second.fingerprints];
      events[2] = first.events[3]!;
      fingerprints[2] = first.fingerprints[3]!;
      const repeating: ReportSegment = { ...second, events, fingerprints };
      const ahead = await judgeSegmentAhead(ctx.store.db, deps, {
        head: repeating.head,
        events,
        fingerprints,
        firstIndex: first.events.length,
      });
      const judge = vi.spyOn(JudgedEvents, 'judge');
      try {
        const after1 = await run(deps, first, null, cases);
        const done = await ctx.store.db.transaction().execute((trx) =>
          processReportSegment(trx, deps, repeating, after1, cases, {
            ahead: {
              judged: ahead,
              // Judged under other policies than those in force now: not taken.
              policies: fits ? undefined : 1,
            },
          }),
        );
        const inTransaction = judge.mock.calls.filter(([reader]) => reader.isTransaction).length;
        const recorded = await ctx.store.db
          .selectFrom('case_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow();
        return {
          inTransaction,
          judged: done.carry.judged,
          recorded: Number(recorded.n),
          outcome: done.outcome,
        };
      } finally {
        judge.mockRestore();
      }
    };
    const taken = await twoSegments(true);
    const notTaken = await twoSegments(false);
    // Taken: only the first segment was judged in a transaction. Not taken: the second was judged again.
    expect(taken.inTransaction).toBe(1);
    expect(notTaken.inTransaction).toBe(2);
    for (const r of [taken, notTaken]) {
      expect(r.judged).toBe(11);
      expect(r.recorded).toBe(11);
    }
    expect(taken.outcome).toEqual(notTaken.outcome);
  });

  it('ends with the cases and versions of a run that read every case again', async () => {
    const sizes = [5, 7, 3];
    const outcome = async (cases: SegmentCases | undefined) => {
      await resetDesk(ctx.store);
      const deps = await setup();
      let carry: SegmentCarry | null = null;
      for (const segment of segmentsOf(sizes)) {
        const done = await ctx.store.db
          .transaction()
          .execute((trx) => processReportSegment(trx, deps, segment, carry, cases));
        carry = done.carry;
      }
      const out = [];
      for (const { id } of await listCases(ctx.store.db, {})) {
        const c = (await getCase(ctx.store.db, id)) as CaseRecord;
        out.push({ ref: c.ref, status: c.status, version: c.version, state: c.state });
      }
      return out;
    };
    const kept = await outcome(new SegmentCases());
    const readAgain = await outcome(undefined);
    expect(kept).toHaveLength(2);
    expect(kept).toEqual(readAgain);
  });
});

describe('SegmentCases', () => {
  const cases = (id: number) => ({
    cases: new Map([[id, { id } as unknown as CaseRecord]]),
    recorded: new Map([[`fingerprint-${id}`, id]]),
  });

  it('gives a report its cases only to the segment that follows the one that left them, and once', () => {
    const kept = new SegmentCases();
    kept.keep(7, 10_000, cases(1));
    expect(kept.take(7, 10_000)?.cases.has(1)).toBe(true);
    expect(kept.take(7, 10_000)).toBeUndefined();
    // A segment that rolled back left cases counted past the committed carry: a retry does not take them.
    kept.keep(7, 20_000, cases(2));
    expect(kept.take(7, 10_000)).toBeUndefined();
    expect(kept.take(7, 20_000)).toBeUndefined();
  });

  it('keeps a few reports at a time, forgetting the oldest, and forgets a finished one', () => {
    const kept = new SegmentCases();
    for (let report = 1; report <= 9; report++) kept.keep(report, 100, cases(report));
    expect(kept.take(1, 100)).toBeUndefined();
    expect(kept.take(2, 100)?.recorded.get('fingerprint-2')).toBe(2);
    kept.forget(9);
    expect(kept.take(9, 100)).toBeUndefined();
    expect(kept.take(8, 100)?.cases.has(8)).toBe(true);
  });
});
