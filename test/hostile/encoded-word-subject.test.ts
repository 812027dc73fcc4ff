import { describe, expect, it } from 'vitest';
import { parseReport } from '../../src/intake/parse-report.js';

/**
 * An encoded-word Subject that cannot be decoded (bytes not valid in the declared charset, base64 that is
 * not base64) is shown as written, with the problem noted in the report's errors, not guessed into mojibake.
 */

async function subjectOf(subject: string) {
  const bytes = new TextEncoder().encode(
    [
      'From: Reporter <r@reporter.example>',
      'To: abuse@desk.example.net',
      `Subject: ${subject}`,
      'Date: Sun, 01 Mar 2026 11:00:00 +0000',
      'Message-ID: <ew-1@reporter.example>',
      '',
      'Spam from 198.51.100.7 on 2026-03-01 10:00 UTC.',
      '',
    ].join('\r\n'),
  );
  return parseReport({
    bytes,
    channel: 'smtp',
    receivedAt: new Date('2026-03-01T12:00:00Z'),
    evidenceSha256: 'c'.repeat(64),
  });
}

describe('encoded-word Subject', () => {
  it('decodes a valid word', async () => {
    const report = await subjectOf('=?utf-8?B?Q2Fmw6kgc3BhbQ==?=');
    expect(report.subject).toBe('Café spam');
    expect(report.errors.filter((e) => e.location === 'header Subject')).toEqual([]);
  });

  it('keeps a word whose bytes are not valid in its charset as written and notes why', async () => {
    // "\xff\xfe\xfd" is not UTF-8: decoding it as Windows-1252 gave "ÿþý spam", text nobody wrote.
    const word = '=?utf-8?B?//79IHNwYW0=?=';
    const report = await subjectOf(`Re: ${word}`);
    expect(report.subject).toBe(`Re: ${word}`);
    expect(report.errors).toContainEqual(
      expect.objectContaining({
        location: 'header Subject',
        message: expect.stringMatching(/not valid utf-8/),
      }),
    );
  });

  it('keeps a word with broken base64 as written and notes why', async () => {
    const word = '=?utf-8?B?not*base64!?=';
    const report = await subjectOf(word);
    expect(report.subject).toBe(word);
    expect(report.errors.some((e) => /not valid base64/.test(e.message))).toBe(true);
  });
});
