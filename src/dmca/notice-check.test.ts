import { describe, expect, it } from 'vitest';
import { type CounterPart, counterText, type NoticePart, noticeText } from '../../test/dmca/statute-texts.js';
import {
  checkCounterNotice,
  checkNotice,
  checkSummary,
  counterElementIds,
  looksLikeCounterNotice,
  noticeElementIds,
} from './notice-check.js';

describe('DMCA notice check: 512(c)(3)(A)(i)-(vi)', () => {
  it('finds every element of a complete notice, with the text that satisfied it', () => {
    const check = checkNotice(noticeText());
    expect(check.complete).toBe(true);
    expect(check.missing).toEqual([]);
    expect(check.elements.signature).toEqual({ found: true, text: '/s/ Ingrid Solberg' });
    expect(check.elements.work.text).toContain('Northern Lights over Tromsø');
    expect(check.elements.material.text).toBe(
      'https://files.shop-a.example/prints/northern-lights.jpg\nhttps://files.shop-a.example/posters/tromso-aurora',
    );
    expect(check.elements.contact.text).toContain('ingrid@aurora-photo.example');
    expect(check.elements.contact.text).toContain('+1 207 555 0199');
    expect(check.elements['good-faith'].text).toMatch(/^I have a good faith belief .* or the law\.$/);
    expect(check.elements['accuracy-authority'].text).toMatch(
      /^I state that the information .* allegedly infringed\.$/,
    );
    // The claimant's own gallery is the original, not an infringing copy.
    expect(check.urls).not.toContain('https://aurora-photo.example/gallery/tromso');
  });

  const noticeParts: Record<(typeof noticeElementIds)[number], NoticePart> = {
    signature: 'signature',
    work: 'work',
    material: 'material',
    contact: 'contact',
    'good-faith': 'good-faith',
    'accuracy-authority': 'accuracy-authority',
  };
  for (const id of noticeElementIds) {
    it(`reports ${id} missing when the notice leaves it out, and only it`, () => {
      const check = checkNotice(noticeText([noticeParts[id]]));
      expect(check.complete).toBe(false);
      expect(check.missing).toEqual([id]);
      expect(check.elements[id]).toEqual({ found: false, text: null });
      // (ii)-(iv) present: the outreach case of 512(c)(3)(B)(ii); any of them absent: not.
      expect(check.substantiallyComplies).toBe(!['work', 'material', 'contact'].includes(id));
    });
  }

  it('is not fooled by a perjury statement without accuracy or authority', () => {
    const text = noticeText(['accuracy-authority']).replace(
      '/s/ Ingrid',
      'I could say this under penalty of perjury if asked.\n\n/s/ Ingrid',
    );
    expect(checkNotice(text).missing).toEqual(['accuracy-authority']);
  });

  it('prints exactly the interface keys', () => {
    const summary = checkSummary(checkNotice(noticeText(['signature'])));
    expect(Object.keys(summary)).toEqual(['kind', 'complete', 'elements', 'missing']);
    expect(Object.keys(summary.elements)).toEqual([...noticeElementIds]);
    expect(summary).toMatchObject({ kind: 'notice', complete: false, missing: ['signature'] });
  });

  it('survives hostile input: empty, binary-ish, enormous', () => {
    expect(checkNotice('').missing).toEqual([...noticeElementIds]);
    expect(checkNotice('\u0000\u0001\uFFFD'.repeat(1000)).complete).toBe(false);
    expect(checkNotice(`${'penalty of perjury '.repeat(20000)}`).complete).toBe(false);
  });
});

describe('DMCA counter-notice check: 512(g)(3)(A)-(D)', () => {
  it('finds every element of a complete counter-notice and the notice it answers', () => {
    const check = checkCounterNotice(counterText('DMCA-000001'));
    expect(check.complete).toBe(true);
    expect(check.noticeRef).toBe('DMCA-000001');
    expect(check.elements['mistake-statement'].text).toMatch(/mistake or misidentification/);
    expect(check.elements['jurisdiction-consent'].text).toContain('Oskar Lind');
    expect(check.elements['jurisdiction-consent'].text).toContain('Federal District Court');
    expect(check.urls).toEqual(['https://files.shop-a.example/prints/northern-lights.jpg']);
    expect(looksLikeCounterNotice(counterText('DMCA-000001'))).toBe(true);
    expect(looksLikeCounterNotice(noticeText())).toBe(false);
  });

  for (const id of counterElementIds) {
    it(`reports ${id} missing when the counter-notice leaves it out`, () => {
      const check = checkCounterNotice(counterText('DMCA-000001', [id as CounterPart]));
      expect(check.missing).toEqual([id]);
      expect(check.complete).toBe(false);
    });
  }

  it('needs acceptance of service as well as consent to jurisdiction', () => {
    const text = counterText('DMCA-000001').replace(
      ', and I will accept service of process from the person who provided the notification or an agent of such person',
      '',
    );
    expect(checkCounterNotice(text).missing).toEqual(['jurisdiction-consent']);
  });
});
