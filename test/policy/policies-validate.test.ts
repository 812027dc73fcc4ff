import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { classificationOf } from '../../src/detect/detection.js';
import { shadowserverReportTypes } from '../../src/intake/parsers/shadowserver/report-types.js';
import { categoryIdentifier } from '../../src/intake/parsers/text/complaint-classifier.js';
import { type PolicyDocument, policyDocumentSchema } from '../../src/policy/policy-schema.js';
import { isEventClass } from '../../src/taxonomy/taxonomy.js';

/**
 * Every policy document shipped under policies/ must validate against the one schema, sit where its own
 * provider id and version say (`policies/<provider>/<version>.yaml`), and only name event classes the
 * taxonomy knows. Reads files directly with `yaml` + zod so it does not depend on the loader it also feeds.
 */

const policiesDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'policies');

/** The five seed providers (../shared/seeds/README.md). */
const SEED_PROVIDERS = ['iitgen', 'injazat', 'securepacket', 'infince', 'influxis'] as const;

function providerDirs(): string[] {
  return readdirSync(policiesDir)
    .filter((name) => statSync(join(policiesDir, name)).isDirectory())
    .sort();
}

function policyFiles(): string[] {
  return providerDirs().flatMap((provider) =>
    readdirSync(join(policiesDir, provider))
      .filter((name) => /\.ya?ml$/.test(name))
      .sort()
      .map((name) => join(policiesDir, provider, name)),
  );
}

function formatIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `  at ${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('\n');
}

function load(file: string): PolicyDocument {
  const result = policyDocumentSchema.safeParse(parse(readFileSync(file, 'utf8')));
  if (!result.success) {
    throw new Error(
      `${relative(policiesDir, file)} does not validate:\n${formatIssues(result.error.issues)}`,
    );
  }
  return result.data;
}

describe('policies/', () => {
  const files = policyFiles();

  it('holds exactly the five seed providers', () => {
    expect(providerDirs()).toEqual([...SEED_PROVIDERS].sort());
  });

  it('every provider folder holds at least one version', () => {
    for (const provider of providerDirs()) {
      expect(
        files.filter((f) => basename(dirname(f)) === provider),
        `policies/${provider}/ has no .yaml version`,
      ).not.toEqual([]);
    }
  });

  describe.each(files.map((f) => [relative(policiesDir, f), f]))('%s', (_name, file) => {
    it('validates against policyDocumentSchema', () => {
      const result = policyDocumentSchema.safeParse(parse(readFileSync(file, 'utf8')));
      if (!result.success) {
        expect.fail(`${relative(policiesDir, file)}:\n${formatIssues(result.error.issues)}`);
      }
    });

    it('is filed under its provider id and version', () => {
      const doc = load(file);
      expect(basename(dirname(file))).toBe(doc.provider.id);
      expect(basename(file).replace(/\.ya?ml$/, '')).toBe(doc.version);
    });

    it('covers only known event classes', () => {
      const doc = load(file);
      const unknown = doc.clauses.flatMap((c) =>
        c.covers.filter((k) => !isEventClass(k)).map((k) => `${c.id}: ${k}`),
      );
      expect(unknown).toEqual([]);
    });

    it('lists every clause in at most one section, and clause numbers are unique within a section', () => {
      const doc = load(file);
      const owner = new Map<string, string>();
      const twice: string[] = [];
      for (const section of doc.sections) {
        for (const clauseId of section.clauses) {
          const first = owner.get(clauseId);
          if (first !== undefined) twice.push(`${clauseId} in ${first} and ${section.id}`);
          owner.set(clauseId, section.id);
        }
        const numbers = section.clauses
          .map((cid) => doc.clauses.find((c) => c.id === cid)?.number)
          .filter((n): n is string => n !== undefined);
        expect(new Set(numbers).size, `section ${section.id} repeats a clause number`).toBe(numbers.length);
      }
      expect(twice).toEqual([]);
      const sectionIds = doc.sections.map((s) => s.id);
      expect(new Set(sectionIds).size, 'duplicate section ids').toBe(sectionIds.length);
    });

    it('narrows clauses only by identifiers that a feed actually emits', () => {
      // A misspelt identifier silently makes a clause match nothing: check against the Shadowserver table,
      // the flow detectors' identifiers and those the free-text classifier gives human complaints.
      const known = new Set([
        ...Object.values(categoryIdentifier),
        ...shadowserverReportTypes.types
          .map((t) => t.spec.identifier)
          .filter((i): i is string => i !== undefined),
        ...Object.values(classificationOf).map((c) => c.identifier),
      ]);
      const unknown = load(file)
        .clauses.flatMap((c) => (c.identifiers ?? []).map((i) => ({ clause: c.id, identifier: i })))
        .filter(({ identifier }) => !known.has(identifier));
      expect(unknown).toEqual([]);
    });

    it('references only existing earlier versions of the same provider', () => {
      const doc = load(file);
      if (doc.supersedes === undefined) return;
      const previousFile = join(dirname(file), `${doc.supersedes}.yaml`);
      const previous = load(previousFile);
      expect(previous.provider.id).toBe(doc.provider.id);
      expect(Date.parse(previous.published_at)).toBeLessThan(Date.parse(doc.published_at));
    });
  });
});
