import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import SwaggerParser from '@apidevtools/swagger-parser';
import { generate } from 'openapi-typescript-codegen';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../../src/store/database.js';
import { type ApiHarness, apiHarness } from './api-harness.js';

/**
 * The served OpenAPI document is usable by clients: a standard validator accepts it (every `$ref` resolves:
 * it once named `#/components/schemas/Session` and thirteen more while `components.schemas` was empty), and
 * a typed client generated from it compiles with the project's own TypeScript. Store-independent: PGlite.
 */

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../../..');

interface Doc {
  paths: Record<string, unknown>;
  components: { schemas?: Record<string, unknown> };
}

describe('OpenAPI document as clients use it', () => {
  let store: Store;
  let h: ApiHarness;
  let doc: Doc;
  let dir: string;
  beforeAll(async () => {
    store = await openStore({ pgliteDir: 'memory://' });
    h = await apiHarness(store);
    const res = await h.app.inject({ method: 'GET', url: '/api/docs/json' });
    expect(res.statusCode).toBe(200);
    doc = res.json<Doc>();
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-openapi-'));
  });
  afterAll(async () => {
    await h?.close();
    await store?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('defines every schema a route references', () => {
    const text = JSON.stringify(doc);
    const referenced = new Set(
      [...text.matchAll(/#\/components\/schemas\/([A-Za-z0-9_.-]+)/g)].map((m) => m[1]!),
    );
    expect(referenced.size).toBeGreaterThan(5);
    for (const name of referenced) expect(Object.keys(doc.components.schemas ?? {}), name).toContain(name);
    for (const name of ['Case', 'Report', 'Session', 'Problem', 'TriageItem', 'ReportDetail']) {
      expect(Object.keys(doc.components.schemas ?? {}), name).toContain(name);
    }
  });

  it('passes swagger-parser validation (all references resolve)', async () => {
    const copy = structuredClone(doc) as unknown as Parameters<typeof SwaggerParser.validate>[0];
    await expect(SwaggerParser.validate(copy)).resolves.toBeTruthy();
  });

  it('generates a typed client that compiles with the project tsc', async () => {
    const out = path.join(dir, 'client');
    const specFile = path.join(dir, 'openapi.json');
    await writeFile(specFile, JSON.stringify(doc));
    await generate({ input: specFile, output: out, httpClient: 'fetch', useOptions: true });
    // A small use of the client, so the compile checks the generated types are what a caller needs.
    await writeFile(
      path.join(dir, 'use.ts'),
      [
        "import { OpenAPI, ReportsService, TriageService } from './client/index';",
        "OpenAPI.BASE = 'http://127.0.0.1:8080';",
        'export async function firstTriageReason(): Promise<string | undefined> {',
        '  const page = await TriageService.getApiV1Triage({});',
        '  return page.items[0]?.reason;',
        '}',
        'export async function reportCount(): Promise<number> {',
        "  return (await ReportsService.getApiV1Reports({ outcome: 'triage' })).items.length;",
        '}',
        '',
      ].join('\n'),
    );
    await writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2022', 'DOM'],
          module: 'ESNext',
          moduleResolution: 'Bundler',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        include: ['client/**/*.ts', 'use.ts'],
      }),
    );
    const tsc = path.join(root, 'node_modules/.bin/tsc');
    const result = await run(tsc, ['-p', path.join(dir, 'tsconfig.json')]).then(
      () => ({ ok: true, output: '' }),
      (error: { stdout?: string; stderr?: string }) => ({
        ok: false,
        output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    );
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 120_000);
});
