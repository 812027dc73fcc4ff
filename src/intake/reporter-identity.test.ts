import { describe, expect, it } from 'vitest';
import { declinesIdentity, isAnonymousMailbox, isAnonymousName } from './reporter-identity.js';

describe('reporter identity', () => {
  it.each([
    "I'd rather stay anonymous.",
    'I will not give my name.',
    'no name please',
    'This is an anonymous report.',
    'Meinen Namen möchte ich nicht nennen.',
    'Ich möchte lieber anonym bleiben.',
    'Prefiero permanecer anónimo.',
    'No voy a dar mi nombre.',
  ])('reads "%s" as declining to be identified', (text) => {
    expect(declinesIdentity(text)).toBe(true);
  });

  it.each([
    'Kind regards, Jane Operator',
    'Anonymous FTP is enabled on the host',
    'the attacker stays anonymous behind Tor',
    'Please keep my name confidential when you contact your customer.',
  ])('does not read "%s" as declining', (text) => {
    expect(declinesIdentity(text)).toBe(false);
  });

  it('knows the mailboxes nobody answers', () => {
    for (const a of [
      'anonymous@anon-mail.example',
      'noreply@wegwerf.example',
      'no-reply@x.example',
      'donotreply@x.example',
      'Nobody@x.example',
    ])
      expect(isAnonymousMailbox(a), a).toBe(true);
    for (const a of [
      'abuse@example.net',
      'jane.noreply.fan@example.org',
      'anon.ymous.person@example.org',
      undefined,
    ])
      expect(isAnonymousMailbox(a), String(a)).toBe(false);
    expect(isAnonymousName(undefined)).toBe(true);
    expect(isAnonymousName('Anonymous')).toBe(true);
    expect(isAnonymousName('Jane Operator')).toBe(false);
  });
});
