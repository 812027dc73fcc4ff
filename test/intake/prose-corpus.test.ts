import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { IntakeEvent } from '../../src/intake/event.js';
import { parseReport } from '../../src/intake/parse-report.js';
import { freeTextParser } from '../../src/intake/parsers/free-text-parser.js';
import type { ParsedReport } from '../../src/intake/report.js';
import { checkParsedReport, checkParser } from '../support/parser-harness.js';

/**
 * The prose corpus (test/fixtures/intake/prose/): complaints written the way people write them, each with its
 * expected class and the roles of its addresses in manifest.json. Every complaint goes through `parseReport`
 * as the desk receives it (`.eml` by SMTP, `.txt` as a pasted complaint through the API), and is scored on:
 *
 * - source: every expected source is named by an event (`source.ip`, `source.fqdn`, `source.url` or its host);
 * - roles: no destination and no `notSources` entry (the reporter's own hosts, impersonated brands,
 *   bystanders) is ever a source, and every destination is kept as some event's `destination.*`;
 * - class: every event naming an expected source carries the expected class (the best guess, for a report
 *   the desk sends to triage), plus the request kind, triage reason and anonymity the manifest names.
 *
 * The score is printed (`prose corpus: …`) so a change to the parser can be measured against it, and every
 * complaint must pass.
 */

interface Expected {
  readonly file: string;
  readonly class: string;
  readonly sources: readonly string[];
  readonly destinations?: readonly string[];
  readonly notSources?: readonly string[];
  readonly requestKind?: string;
  readonly triageReason?: string;
  readonly anonymous?: boolean;
}

const dir = fileURLToPath(new URL('../fixtures/intake/prose/', import.meta.url));
const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
  complaints: Expected[];
};
const receivedAt = new Date('2026-12-03T12:30:00.000Z');

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
  } catch {
    return undefined;
  }
}

function names(event: IntakeEvent, value: string): boolean {
  const v = value.toLowerCase();
  return (
    event['source.ip'] === v ||
    event['source.fqdn'] === v ||
    event['source.url'] === value ||
    hostOf(event['source.url']) === v
  );
}

function keepsDestination(event: IntakeEvent, value: string): boolean {
  const extra = event.extra ?? {};
  const listed = Array.isArray(extra.destinations) ? (extra.destinations as unknown[]) : [];
  return (
    event['destination.ip'] === value ||
    event['destination.fqdn'] === value ||
    hostOf(event['destination.url']) === value ||
    listed.includes(value)
  );
}

interface Verdict {
  readonly file: string;
  readonly source: boolean;
  readonly roles: boolean;
  readonly noWrongSource: boolean;
  readonly cls: boolean;
  readonly problems: string[];
}

function score(expected: Expected, report: ParsedReport): Verdict {
  const problems: string[] = [];
  const events = report.events;
  let source = true;
  for (const s of expected.sources) {
    if (!events.some((e) => names(e, s))) {
      source = false;
      problems.push(`source ${s} not named`);
    }
  }
  let noWrongSource = true;
  for (const d of [...(expected.destinations ?? []), ...(expected.notSources ?? [])]) {
    if (events.some((e) => names(e, d))) {
      noWrongSource = false;
      problems.push(`${d} reported as a source`);
    }
  }
  let roles = noWrongSource;
  for (const d of expected.destinations ?? []) {
    if (!events.some((e) => keepsDestination(e, d))) {
      roles = false;
      problems.push(`target ${d} not kept as destination`);
    }
  }
  let cls = true;
  for (const s of expected.sources) {
    for (const e of events.filter((ev) => names(ev, s))) {
      const got = `${e['classification.taxonomy']}/${e['classification.type']}`;
      if (got !== expected.class) {
        cls = false;
        problems.push(`${s}: class ${got}, expected ${expected.class}`);
      }
      if (expected.requestKind && e.extra?.request_kind !== expected.requestKind) {
        cls = false;
        problems.push(`${s}: request_kind ${String(e.extra?.request_kind)}`);
      }
      if (expected.triageReason && e.extra?.triage_reason !== expected.triageReason) {
        cls = false;
        problems.push(`${s}: triage_reason ${String(e.extra?.triage_reason)}`);
      }
    }
  }
  if (expected.anonymous !== undefined && report.reporter.anonymous !== expected.anonymous) {
    cls = false;
    problems.push(`reporter.anonymous ${report.reporter.anonymous}`);
  }
  return { file: expected.file, source, roles, noWrongSource, cls, problems };
}

async function parseComplaint(file: string): Promise<{ report: ParsedReport; bytes: Uint8Array }> {
  const bytes = new Uint8Array(readFileSync(path.join(dir, file)));
  const mail = file.endsWith('.eml');
  const report = await parseReport({
    bytes,
    channel: mail ? 'smtp' : 'api',
    receivedAt,
    ...(mail ? {} : { contentType: 'text/plain' }),
  });
  return { report, bytes };
}

describe('prose complaint corpus', () => {
  it('has at least 40 complaints, each file listed once', () => {
    expect(manifest.complaints.length).toBeGreaterThanOrEqual(40);
    expect(new Set(manifest.complaints.map((c) => c.file)).size).toBe(manifest.complaints.length);
  });

  it.each(manifest.complaints.filter((c) => c.file.endsWith('.txt')).map((c) => c.file))(
    '%s holds the parser invariants (schema, taxonomy, raw traceable to the input)',
    async (file) => {
      await checkParser(freeTextParser, path.join(dir, file), { detect: 0.2 });
    },
  );

  it('names the right source, keeps targets as destinations and classifies every complaint', async () => {
    const verdicts: Verdict[] = [];
    for (const expected of manifest.complaints) {
      const { report, bytes } = await parseComplaint(expected.file);
      checkParsedReport(report, { input: bytes });
      verdicts.push(score(expected, report));
    }
    const n = verdicts.length;
    const count = (f: (v: Verdict) => boolean) => verdicts.filter(f).length;
    const summary = {
      complaints: n,
      rightSource: count((v) => v.source && v.noWrongSource),
      noWrongPartyAsSource: count((v) => v.noWrongSource),
      rolesKept: count((v) => v.roles),
      rightClass: count((v) => v.cls),
      allRight: count((v) => v.source && v.roles && v.cls),
    };
    console.log(`prose corpus: ${JSON.stringify(summary)}`);
    const failures = verdicts
      .filter((v) => v.problems.length > 0)
      .map((v) => `${v.file}: ${v.problems.join('; ')}`);
    if (failures.length > 0) console.log(failures.join('\n'));
    expect(failures).toEqual([]);
  });
});
