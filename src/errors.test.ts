import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AupError, errorCatalogue, isAupError } from './errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

  it('documents every code with its status in docs/errors.md', () => {
    for (const [code, spec] of Object.entries(errorCatalogue)) {
      expect(doc, `${code} missing from docs/errors.md`).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${spec.status}\\s*\\|`),
      );
    }
  });

  it('documents no code that the catalogue lacks', () => {
    const documented = [...doc.matchAll(/`(AUP_ERR_[A-Z_]+)`/g)].map((m) => m[1]);
    for (const code of documented) expect(Object.keys(errorCatalogue)).toContain(code);
  });

  it('carries the status of its code and is recognised by code, not message', () => {
    const error = new AupError('AUP_ERR_NOT_FOUND', 'case 12 not found');
    expect(error.status).toBe(404);
    expect(isAupError(error, 'AUP_ERR_NOT_FOUND')).toBe(true);
    expect(isAupError(error, 'AUP_ERR_INPUT_INVALID')).toBe(false);
    expect(isAupError(new Error('AUP_ERR_NOT_FOUND'))).toBe(false);
  });
});
