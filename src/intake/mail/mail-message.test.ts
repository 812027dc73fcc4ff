import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isAupError } from '../../errors.js';
import { defaultMailLimits } from './mail-limits.js';
import { parseMail } from './mail-message.js';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(new URL(`../../../test/fixtures/intake/mime/${name}`, import.meta.url)));

describe('parseMail', () => {
  it('reads headers, encoded words, threading ids and the From address', () => {
    const mail = parseMail(fixture('multipart-nested.eml'));
    expect(mail.from).toEqual({ name: 'Jürgen Müller', address: 'reporter@example.org' });
    expect(mail.subject).toBe('Beschwerde über spam ✓');
    expect(mail.messageId).toBe('complaint-42@example.org');
    expect(mail.inReplyTo).toEqual(['case-7@hosting.example']);
    expect(mail.references).toEqual(['case-6@hosting.example', 'case-7@hosting.example']);
    expect(mail.autoSubmitted).toBeUndefined();
    expect(mail.errors).toEqual([]);
  });

  it('walks nested multiparts with IMAP part paths and decodes QP, base64 and charsets', () => {
    const mail = parseMail(fixture('multipart-nested.eml'));
    expect(mail.parts().map((p) => `${p.path || '(root)'}:${p.contentType}`)).toEqual([
      '(root):multipart/mixed',
      '1:multipart/alternative',
      '1.1:text/plain',
      '1.2:text/html',
      '2:text/csv',
      '3:message/rfc822',
    ]);
    expect(mail.textBody()?.text()).toBe(
      'Grüße, the host 192.0.2.10 sends spam. This line is long enough to be wrapped by the encoder.',
    );
    expect(mail.htmlBody()?.text()).toContain('Café <a href="http://phish.example.net/login">');
    const csv = mail.attachments().find((a) => a.contentType === 'text/csv');
    expect(csv?.fileName).toBe('réport.csv');
    expect(new TextDecoder().decode(csv?.bytes())).toContain('"192.0.2.10","53"');
  });

  it('parses an encapsulated message/rfc822 part as a message of its own', () => {
    const mail = parseMail(fixture('multipart-nested.eml'));
    const inner = mail.parts().find((p) => p.contentType === 'message/rfc822')?.message;
    expect(inner?.subject).toBe('inner message');
    expect(inner?.from?.address).toBe('victim@example.org');
    expect(inner?.parts().map((p) => p.path)).toEqual(['3', '3.1', '3.2']);
    expect(inner?.textBody()?.text()).toBe('inner plain body');
    expect(new TextDecoder().decode(inner?.raw())).toMatch(/^From: Victim/);
  });

  it('tolerates a truncated message: what arrived is kept, the cut is an error with its location', () => {
    const mail = parseMail(fixture('truncated.eml'));
    expect(mail.textBody()?.text()).toBe('Please look at 198.51.100.7, it scans us.');
    const log = mail.attachments()[0];
    expect(log?.fileName).toBe('log.txt');
    expect(new TextDecoder().decode(log?.bytes())).toContain('SSH brute force from 198.51.100.7');
    expect(mail.errors).toEqual([
      expect.objectContaining({ location: 'message', message: expect.stringContaining('closing boundary') }),
    ]);
  });

  it('decodes a wrong charset by fallback and reports it, and an unknown charset and encoding', () => {
    const mail = parseMail(fixture('wrong-charset.eml'));
    expect(mail.from?.name).toBe('René');
    const [first, second, third] = mail.parts().slice(1);
    expect(first?.text()).toContain('héberge du phishing');
    expect(second?.text()).toBe('unknown charset part');
    expect(third?.text()).toBe('begin 644 a.txt');
    const messages = mail.errors.map((e) => `${e.location}: ${e.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^3: unknown Content-Transfer-Encoding "x-uuencode"/),
      expect.stringMatching(/^1: bytes are not valid utf-8 .*windows-1252/),
    ]);
  });

  it('reports a charset it does not know only when the bytes need one', () => {
    const mail = parseMail(
      new TextEncoder().encode('Content-Type: text/plain; charset=x-klingon\n\n\u00e9t\u00e9'),
    );
    expect(mail.textBody()?.text()).toBe('été');
    expect(mail.errors[0]).toMatchObject({
      location: '1',
      message: expect.stringContaining('unknown charset'),
    });
  });

  it('handles a header block with no body', () => {
    const mail = parseMail(fixture('headers-only.eml'));
    expect(mail.subject).toBe('no body and no blank line');
    expect(mail.headers.get('x-trailing')).toBe('yes');
    expect(mail.errors[0]?.message).toMatch(/truncated/);
  });

  it('parses LF-only mail, odd Content-Type parameter order and a missing semicolon', () => {
    const raw = [
      'From: fbl@example.net',
      'Content-Type: multipart/report; boundary="zz" report-type=feedback-report',
      '',
      '--zz',
      'Content-Type: text/plain',
      '',
      'hello',
      '--zz',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      '--zz--',
    ].join('\n');
    const mail = parseMail(new TextEncoder().encode(raw));
    expect(mail.root.params).toEqual({ boundary: 'zz', 'report-type': 'feedback-report' });
    expect(mail.parts().map((p) => p.contentType)).toEqual([
      'multipart/report',
      'text/plain',
      'message/feedback-report',
    ]);
    expect(mail.parts()[2]?.text()).toBe('Feedback-Type: abuse');
  });

  it('reports a multipart without a boundary and a boundary that never occurs', () => {
    const none = parseMail(new TextEncoder().encode('Content-Type: multipart/mixed\n\nbody'));
    expect(none.errors[0]?.message).toMatch(/without a boundary/);
    const missing = parseMail(new TextEncoder().encode('Content-Type: multipart/mixed; boundary=q\n\nbody'));
    expect(missing.errors[0]?.message).toMatch(/no part found/);
  });

  it('recognises Auto-Submitted mail', () => {
    const mail = parseMail(new TextEncoder().encode('Auto-Submitted: auto-generated\nFrom: x@y.z\n\nbody'));
    expect(mail.autoSubmitted).toBe('auto-generated');
    expect(parseMail(new TextEncoder().encode('Auto-Submitted: no\n\nx')).autoSubmitted).toBeUndefined();
  });

  it('refuses a message over the size limit with AUP_ERR_INTAKE_TOO_LARGE', () => {
    const limits = { ...defaultMailLimits, maxMessageBytes: 10 };
    try {
      parseMail(new TextEncoder().encode('Subject: too long for the limit\n\n'), { limits });
      expect.unreachable();
    } catch (error) {
      expect(isAupError(error, 'AUP_ERR_INTAKE_TOO_LARGE')).toBe(true);
    }
  });

  it('stops at the nesting and part-count limits with an error instead of recursing forever', () => {
    let nested = 'Content-Type: text/plain\n\nbottom';
    for (let i = 0; i < 30; i++) nested = `Content-Type: message/rfc822\n\n${nested}`;
    const deep = parseMail(new TextEncoder().encode(nested));
    expect(deep.errors.some((e) => /nesting deeper/.test(e.message))).toBe(true);

    const many = ['Content-Type: multipart/mixed; boundary=p', ''];
    for (let i = 0; i < 50; i++) many.push('--p', '', `part ${i}`);
    many.push('--p--');
    const wide = parseMail(new TextEncoder().encode(many.join('\n')), {
      limits: { ...defaultMailLimits, maxParts: 10 },
    });
    expect(wide.parts().length).toBeLessThanOrEqual(10);
    expect(wide.errors.some((e) => /more than 10 MIME parts/.test(e.message))).toBe(true);
  });
});
