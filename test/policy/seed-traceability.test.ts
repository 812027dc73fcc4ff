import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * A reviewer must be able to trace every paragraph of each seed AUP to its encoding (issue 2). This test does
 * it mechanically: it splits each seed text into paragraphs and list items and checks, for every version
 * under `policies/<provider>/`,
 *   1. each paragraph or item is found by its opening words in some `text`, `text_after`, `quote` or
 *      `preamble` (clauses, section prose, terms, obligations, non_executable);
 *   2. each of its sentences appears verbatim somewhere in the document (nothing dropped mid-paragraph);
 *   3. each short line (heading, address line) appears somewhere in the document, unless it is page
 *      furniture listed as noise;
 *   4. each `source.quote` and each clause `text` is verbatim seed text (nothing paraphrased or invented),
 *      except clauses a row declares as additions of an illustrative revision.
 * Matching ignores case, runs of whitespace, curly versus straight quotes and dash styles. Each check lists
 * every failure at once.
 */

interface SeedRow {
  /** File name in test/fixtures/seeds/ (a copy of the workspace's shared/seeds/). */
  seed: string;
  /** Folder under policies/; every version in it is traced against the seed. */
  provider: string;
  /** Short lines of page furniture the encoding deliberately leaves out (matched after normalising). */
  noise?: string[];
  /** Per version: clause ids that are not the provider's text (an illustrative later revision). */
  additions?: Record<string, string[]>;
}

// ─── The seed table ──────────────────────────────────────────────────────────────────────────────────────────
// One row per seed AUP (all five); a new seed or provider folder without a row fails the test.
const SEED_TABLE: SeedRow[] = [
  {
    seed: '000_6696ea6ae8809ecb.txt',
    provider: 'iitgen',
    // "Contact Form" is a link; "Updated: ..." is the version date (the document's `version`).
    noise: ['Contact Form', 'Updated: February 24, 2018'],
  },
  { seed: '001_ad618cfd3f88edea.txt', provider: 'injazat' },
  {
    seed: '002_f1f8c584c08411bb.txt',
    provider: 'securepacket',
    additions: { '2027-03-01': ['abuse.open-services'] },
  },
  // "Book Your Demo Today" (the page's call to action) is common noise.
  { seed: '003_b188790b3381c477.txt', provider: 'infince' },
  {
    seed: '004_56d91898cc59b400.txt',
    provider: 'influxis',
    // The agent's fax number is carried as terms.dmca.designated_agent.fax, without its "Fax:" label.
    noise: ['Fax: +1-661-775-4911'],
  },
];
// ─────────────────────────────────────────────────────────────────────────────────────────────────────────────

/** Furniture common to saved web pages. */
const COMMON_NOISE = [/^(top|bottom) of page$/, /^homepage/, /^book your demo today$/];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtureSeeds = join(root, 'test', 'fixtures', 'seeds');
const workspaceSeeds = join(root, '..', 'shared', 'seeds');
const policiesDir = join(root, 'policies');

/** Case, whitespace, quote and dash styles do not matter when tracing text. */
function normalise(s: string): string {
  return s
    .normalize('NFKC')
    .replace(/[\u2018\u2019\u201A\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201E\u201F\u2033]/g, '"')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

interface SeedItem {
  line: number;
  /** The line as written, markers included. */
  raw: string;
  /** Without its bullet, list marker or upper-case run-in heading ("1. ABUSE GENERALLY. "). */
  body: string;
  kind: 'paragraph' | 'short';
}

const LIST_MARKER = /^(?:[•\-*·]\s*|[a-z]\.+\s+|\(?[a-z0-9]{1,4}\)\s+|\d+(?:\.\d+)*\.\s*)/i;
const RUN_IN_HEADING = /^[A-Z][A-Z0-9 ,&'’/-]*[A-Z]\.\s+/;

/** Paragraphs and list items of a seed, one per line as the seeds are written; headings and addresses as `short`. */
function seedItems(text: string): SeedItem[] {
  const items: SeedItem[] = [];
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const raw = rawLine.trim();
    if (raw.length === 0) return;
    const withoutMarker = raw.replace(LIST_MARKER, '');
    const isListItem = withoutMarker !== raw;
    const body = withoutMarker.replace(RUN_IN_HEADING, '').trim();
    if (body.length === 0) return;
    const words = body.split(/\s+/).length;
    const looksLikeHeading = !isListItem && words < 12 && !/[.;:,!?)]$/.test(body);
    items.push({ line: index + 1, raw, body, kind: looksLikeHeading ? 'short' : 'paragraph' });
  });
  return items;
}

/** Sentences (or clauses ending in ";") long enough to be worth checking one by one. */
function sentences(body: string): string[] {
  return body
    .split(/(?<=[.!?;])\s+/)
    .map((s) => s.trim())
    .filter((s) => s.split(/\s+/).length >= 4);
}

function openingWords(body: string, count = 8): string {
  return normalise(body).split(' ').slice(0, count).join(' ');
}

/** A run-in label ("Unauthorized Access: Accessing ...") that an encoding may keep as a title instead. */
function withoutLabel(body: string): string | undefined {
  const m = /^([^:]{1,60}):\s+(.+)$/.exec(body);
  if (!m?.[1] || !m[2] || m[1].split(/\s+/).length > 6) return undefined;
  return m[2];
}

interface Strings {
  /** `text`, `text_after`, `quote`, `preamble` values, normalised. */
  trace: string[];
  /** Every string value in the document, normalised and joined. */
  all: string;
  quotes: { where: string; quote: string }[];
  clauseTexts: { id: string; text: string }[];
}

const TRACE_KEYS = new Set(['text', 'text_after', 'quote', 'preamble']);

function collectStrings(doc: unknown): Strings {
  const trace: string[] = [];
  const all: string[] = [];
  const quotes: Strings['quotes'] = [];
  const walk = (value: unknown, path: string, key: string): void => {
    if (typeof value === 'string') {
      all.push(normalise(value));
      if (TRACE_KEYS.has(key)) trace.push(normalise(value));
      if (key === 'quote') quotes.push({ where: path, quote: value });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walk(v, `${path}[${i}]`, key);
      });
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, k);
    }
  };
  walk(doc, '', '');
  const clauses = (doc as { clauses?: unknown }).clauses;
  const clauseTexts = Array.isArray(clauses)
    ? clauses.flatMap((c: unknown) => {
        const { id, text } = (c ?? {}) as { id?: unknown; text?: unknown };
        return typeof id === 'string' && typeof text === 'string' ? [{ id, text }] : [];
      })
    : [];
  return { trace, all: all.join('\n'), quotes, clauseTexts };
}

function readSeed(file: string): string {
  const path = join(fixtureSeeds, file);
  if (!existsSync(path)) throw new Error(`seed ${file} is missing from test/fixtures/seeds/`);
  return readFileSync(path, 'utf8');
}

function versionFiles(provider: string): string[] {
  const dir = join(policiesDir, provider);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

interface TraceReport {
  untraced: string[];
  missingSentences: string[];
  missingShortLines: string[];
  notInSeed: string[];
  staleAdditions: string[];
}

/** Runs the four checks of one policy document (parsed YAML, not yet validated) against its seed text. */
function traceReport(seedText: string, doc: unknown, row: SeedRow): TraceReport {
  const items = seedItems(seedText);
  const strings = collectStrings(doc);
  const version = String((doc as { version?: unknown }).version ?? '');
  const additions = new Set(row.additions?.[version] ?? []);
  const noise = new Set((row.noise ?? []).map(normalise));
  const where = (item: SeedItem) => `${row.seed}:${item.line}: ${item.raw}`;
  const paragraphs = items.filter((item) => item.kind === 'paragraph');

  const untraced = paragraphs
    .filter((item) => {
      const candidates = [item.body, withoutLabel(item.body)].filter((b): b is string => b !== undefined);
      return !candidates.some((body) => strings.trace.some((t) => t.includes(openingWords(body))));
    })
    .map(where);

  const missingSentences = paragraphs.flatMap((item) =>
    sentences(item.body)
      .filter((s) => {
        // A run-in label may be kept as the clause title rather than in its text.
        const unlabelled = withoutLabel(s);
        return ![s, unlabelled].some((c) => c !== undefined && strings.all.includes(normalise(c)));
      })
      .map((s) => `${row.seed}:${item.line}: ${s}`),
  );

  const missingShortLines = items
    .filter((item) => item.kind === 'short')
    .filter((item) => {
      const n = normalise(item.body);
      if (noise.has(n) || noise.has(normalise(item.raw))) return false;
      if (COMMON_NOISE.some((re) => re.test(n))) return false;
      return !strings.all.includes(n);
    })
    .map(where);

  const seedBlob = normalise(seedText);
  const clauseIds = new Set(strings.clauseTexts.map((c) => c.id));
  const staleAdditions = [...additions].filter((id) => !clauseIds.has(id));
  const additionPaths = strings.clauseTexts.flatMap((c, i) =>
    additions.has(c.id) ? [`clauses[${i}].`] : [],
  );
  const notInSeed = [
    ...strings.quotes
      .filter((q) => !additionPaths.some((prefix) => q.where.startsWith(prefix)))
      .filter((q) => !seedBlob.includes(normalise(q.quote)))
      .map((q) => `${q.where}: ${q.quote}`),
    ...strings.clauseTexts
      .filter((c) => !additions.has(c.id) && !seedBlob.includes(normalise(c.text)))
      .map((c) => `clause ${c.id}: ${c.text}`),
  ];

  return { untraced, missingSentences, missingShortLines, notInSeed, staleAdditions };
}

describe('seed traceability', () => {
  it('the seed fixtures are the workspace seeds, unchanged', () => {
    for (const row of SEED_TABLE) {
      const shared = join(workspaceSeeds, row.seed);
      // On a clean clone only the fixture copies exist; in the workspace they must not drift.
      if (existsSync(shared)) expect(readSeed(row.seed), row.seed).toBe(readFileSync(shared, 'utf8'));
      else expect(readSeed(row.seed).length, row.seed).toBeGreaterThan(0);
    }
  });

  it('has a row for every seed and every provider folder', () => {
    const seeds = readdirSync(fixtureSeeds).filter((f) => f.endsWith('.txt'));
    const folders = readdirSync(policiesDir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    expect(SEED_TABLE.map((r) => r.seed).sort()).toEqual(seeds.sort());
    expect(SEED_TABLE.map((r) => r.provider).sort()).toEqual(folders.sort());
  });

  it('every row names a distinct seed and provider folder with at least one version', () => {
    expect(new Set(SEED_TABLE.map((r) => r.seed)).size).toBe(SEED_TABLE.length);
    expect(new Set(SEED_TABLE.map((r) => r.provider)).size).toBe(SEED_TABLE.length);
    for (const row of SEED_TABLE)
      expect(versionFiles(row.provider), `policies/${row.provider}/`).not.toEqual([]);
  });

  it('splits a seed into paragraphs, list items and short lines', () => {
    const items = seedItems(
      [
        'Use of Infrastructure',
        '',
        'Our infrastructure and services may only be used for:',
        'b.. Receiving or collecting responses to SPAM; and',
        '  • Use the Services to perform port scans.',
        '1. ABUSE GENERALLY. Customer shall not use the Services:',
        '417 East Huntington Drive',
      ].join('\n'),
    );
    expect(items.map((i) => [i.line, i.kind, i.body])).toEqual([
      [1, 'short', 'Use of Infrastructure'],
      [3, 'paragraph', 'Our infrastructure and services may only be used for:'],
      [4, 'paragraph', 'Receiving or collecting responses to SPAM; and'],
      [5, 'paragraph', 'Use the Services to perform port scans.'],
      [6, 'paragraph', 'Customer shall not use the Services:'],
      [7, 'short', '417 East Huntington Drive'],
    ]);
    expect(normalise('“Spam”  –  it’s')).toBe('"spam" - it\'s');
  });

  it('reports a dropped clause, a dropped sentence and a paraphrase (the checks can fail)', () => {
    const seedText = readSeed('000_6696ea6ae8809ecb.txt');
    // Drop one sentence wherever the document carries it (section prose, term text, ladder step).
    const yamlText = readFileSync(join(policiesDir, 'iitgen', '2018-02-24.yaml'), 'utf8');
    const doc = JSON.parse(
      JSON.stringify(parse(yamlText)).replaceAll(
        'You will be given an opportunity to cure this violation.',
        '',
      ),
    ) as {
      clauses: { id: string; text: string }[];
    };
    doc.clauses = doc.clauses.filter((c) => c.id !== 'content.gambling');
    const monitoring = doc.clauses.find((c) => c.id === 'content.monitoring-communications');
    if (monitoring) monitoring.text = 'Eavesdropping on other people.';
    const report = traceReport(seedText, doc, { seed: '000_6696ea6ae8809ecb.txt', provider: 'iitgen' });
    // The paraphrased clause is still traced by its source quote; the verbatim check catches the paraphrase.
    expect(report.untraced).toEqual([
      '000_6696ea6ae8809ecb.txt:61: d. Facilitating or advertising gambling, or any facsimile of gambling;',
    ]);
    expect(report.missingSentences.join('\n')).toContain(
      'You will be given an opportunity to cure this violation.',
    );
    expect(report.notInSeed).toEqual([
      'clause content.monitoring-communications: Eavesdropping on other people.',
    ]);
  });

  describe.each(
    SEED_TABLE.flatMap((row) =>
      versionFiles(row.provider).map((file) => ({ row, file, name: relative(root, file) })),
    ),
  )('$row.seed → $name', ({ row, file }) => {
    const report = traceReport(readSeed(row.seed), parse(readFileSync(file, 'utf8')), row);

    it('traces every paragraph and list item by its opening words', () => {
      expect(
        report.untraced,
        'seed paragraphs with no text/quote/preamble/section prose opening with their words',
      ).toEqual([]);
    });

    it('carries every sentence of the seed verbatim somewhere', () => {
      expect(report.missingSentences, 'seed sentences found nowhere in the document').toEqual([]);
    });

    it('keeps every heading and address line, except listed page furniture', () => {
      expect(
        report.missingShortLines,
        'short seed lines (headings, addresses) found nowhere; list page furniture as noise',
      ).toEqual([]);
    });

    it('quotes and clause texts are verbatim seed text', () => {
      expect(report.staleAdditions, 'declared additions that are not clauses of this version').toEqual([]);
      expect(report.notInSeed, 'quotes or clause texts that are not verbatim in the seed').toEqual([]);
    });
  });
});
