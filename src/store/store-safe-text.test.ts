import { describe, expect, it } from 'vitest';
import { hasUnstorableText, StringifiedJson, storableParameter, storableText } from './store-safe-text.js';

describe('storable text', () => {
  it('replaces NUL and unpaired surrogates, keeps pairs', () => {
    expect(storableText('a\u0000b')).toBe('a\ufffdb');
    expect(storableText('x\ud800y\udc00z')).toBe('x\ufffdy\ufffdz');
    expect(storableText('emoji \ud83d\ude00')).toBe('emoji \ud83d\ude00');
    expect(hasUnstorableText('plain')).toBe(false);
    expect(hasUnstorableText('\udfff')).toBe(true);
    // Paired halves are a character; a lone half or a NUL anywhere in a long text is found, in one-byte
    // (Latin-1) text and two-byte text alike.
    expect(hasUnstorableText('emoji \ud83d\ude00 and € and é')).toBe(false);
    expect(hasUnstorableText(`${'é'.repeat(5000)}\u0000`)).toBe(true);
    expect(hasUnstorableText(`${'x'.repeat(5000)}\ud83d`)).toBe(true);
    expect(hasUnstorableText(`€${'x'.repeat(5000)}\ude00\ud83d`)).toBe(true);
  });

  it('rewrites the escapes jsonb refuses in JSON documents, not escaped backslashes or pairs', () => {
    const doc = JSON.stringify({ a: 'nul\u0000', b: 'lone\ud800', c: '\ud83d\ude00', d: 'literal \\u0000' });
    const safe = storableParameter(doc) as string;
    expect(JSON.parse(safe)).toEqual({
      a: 'nul\ufffd',
      b: 'lone\ufffd',
      c: '\ud83d\ude00',
      d: 'literal \\u0000',
    });
  });

  it('leaves a literal backslash-u0000 in plain text as typed', () => {
    expect(storableParameter('see \\u0000 in the log')).toBe('see \\u0000 in the log');
    // Text JSON.stringify made goes to the driver as text, its refused escapes rewritten, paired ones kept.
    const made = new StringifiedJson(
      JSON.stringify([{ a: 'nul\u0000', b: 'lone\ud800', c: '\ud83d\ude00' }]),
    );
    expect(JSON.parse(storableParameter(made) as string)).toEqual([
      { a: 'nul\ufffd', b: 'lone\ufffd', c: '\ud83d\ude00' },
    ]);
    expect(storableParameter(new StringifiedJson('[{"a":"plain"}]'))).toBe('[{"a":"plain"}]');
    expect(storableParameter(42)).toBe(42);
  });
});
