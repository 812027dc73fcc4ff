/**
 * Notices and counter-notices written from the statute, one paragraph per element, so a test can leave any
 * element out. 17 U.S.C. 512(c)(3)(A)(i)–(vi) for notices, 512(g)(3)(A)–(D) for counter-notices. The hosts
 * are the test registry's (`test/dmca/dmca-support.ts`): files.shop-a.example is held by customer C-100.
 */

export const noticeParagraphs = {
  intro: `Subject: DMCA notice of claimed infringement

To the Designated Agent:

I write under the Digital Millennium Copyright Act, 17 U.S.C. 512(c)(3), about material on your network.`,
  work: `Copyrighted work: "Northern Lights over Tromsø", a photograph registered with the U.S. Copyright Office as VA 2-345-678.
The original is published at https://aurora-photo.example/gallery/tromso`,
  material: `The infringing copies are located at:
  https://files.shop-a.example/prints/northern-lights.jpg
  https://files.shop-a.example/posters/tromso-aurora`,
  contact: `Contact information:
Ingrid Solberg
55 Harbor Street
Portland, ME 04101
Phone: +1 207 555 0199
Email: ingrid@aurora-photo.example`,
  'good-faith': `I have a good faith belief that use of the material in the manner complained of is not authorized by the copyright owner, its agent, or the law.`,
  'accuracy-authority': `I state that the information in this notification is accurate, and under penalty of perjury, that I am the copyright owner or am authorized to act on behalf of the owner of an exclusive right that is allegedly infringed.`,
  signature: `/s/ Ingrid Solberg
December 1, 2026`,
} as const;

export type NoticePart = keyof typeof noticeParagraphs;

export function noticeText(without: readonly NoticePart[] = []): string {
  return (Object.keys(noticeParagraphs) as NoticePart[])
    .filter((k) => !without.includes(k))
    .map((k) => noticeParagraphs[k])
    .join('\n\n');
}

export const counterParagraphs = {
  intro: (noticeRef: string) => `Subject: Counter-notification under 17 U.S.C. 512(g)(3) - ${noticeRef}

To the Designated Agent:

This is a counter-notice to your notice ${noticeRef}.`,
  material: `The material that was removed, and the location at which it appeared before it was removed or access to it was disabled:
  https://files.shop-a.example/prints/northern-lights.jpg`,
  'mistake-statement': `I swear, under penalty of perjury, that I have a good faith belief that the material was removed or disabled as a result of mistake or misidentification of the material to be removed or disabled. The photograph is my own work, taken on 3 March 2025.`,
  'jurisdiction-consent': `Name: Oskar Lind
Address: 12 Pine Road, Burlington, VT 05401
Phone: +1 802 555 0123
I consent to the jurisdiction of the Federal District Court for the judicial district in which my address is located, and I will accept service of process from the person who provided the notification or an agent of such person.`,
  signature: `/s/ Oskar Lind`,
} as const;

export type CounterPart = Exclude<keyof typeof counterParagraphs, 'intro'>;

export function counterText(noticeRef: string, without: readonly CounterPart[] = []): string {
  const parts = (['material', 'mistake-statement', 'jurisdiction-consent', 'signature'] as CounterPart[])
    .filter((k) => !without.includes(k))
    .map((k) => counterParagraphs[k]);
  return [counterParagraphs.intro(noticeRef), ...parts].join('\n\n');
}
