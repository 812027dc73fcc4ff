import { describe, expect, it } from 'vitest';
import { checkParser, fixtureInput, HARNESS_RECEIVED_AT } from '../../../test/support/parser-harness.js';
import { dmcaNoticeSchema } from '../report.js';
import { dmcaParser, readDmcaNotice } from './dmca-parser.js';

const dir = 'test/fixtures/intake/dmca';

describe('dmca parser', () => {
  it('finds all six 512(c)(3)(A) elements, the claimant and one copyright event per URL', async () => {
    const out = await checkParser(dmcaParser, `${dir}/complete-photographer.txt`);
    expect(dmcaNoticeSchema.parse(out.dmca)).toMatchObject({
      complete: true,
      missing: [],
      claimant: {
        name: 'Jane Doe',
        email: 'jane@janedoe-photo.example',
        phone: '+1 415 555 0142',
        address: '1200 Market Street, Suite 400, San Francisco, CA 94102',
      },
      signature: '/s/ Jane Doe',
    });
    // The claimant's own portfolio URL is the original work, not an infringing copy.
    expect(out.dmca?.infringingUrls).toEqual([
      'https://cheap-prints.example.net/products/harbour-dawn-canvas',
      'https://cheap-prints.example.net/products/lighthouse-fog-poster',
    ]);
    expect(out.events.map((e) => [e['classification.type'], e['source.fqdn'], e['raw.location']])).toEqual([
      ['copyright', 'cheap-prints.example.net', '12'],
      ['copyright', 'cheap-prints.example.net', '13'],
    ]);
    expect(out.reporter).toMatchObject({ name: 'Jane Doe', anonymous: false, automated: false });
  });

  it('names the rights holder when an agent sends the notice for a studio', async () => {
    const out = await checkParser(dmcaParser, `${dir}/agent-for-studio.txt`);
    expect(out.dmca).toMatchObject({
      complete: true,
      rightsHolder: 'Example Pictures Studios, Inc.',
      claimant: { name: 'Morgan Lee', email: 'notices@eaps.example' },
      works: ['Midnight Harbor (2025), motion picture', 'Midnight Harbor 2: Low Tide (2026), motion picture'],
    });
    expect(out.events).toHaveLength(3);
    expect(out.events[2]).toMatchObject({
      'source.ip': '198.51.100.91',
      'source.url': 'http://198.51.100.91:8080/stream/midnight-harbor-2025.m3u8',
    });
    expect(out.reporter?.automated).toBe(true);
  });

  it('reports a missing perjury statement', async () => {
    const out = await checkParser(dmcaParser, `${dir}/missing-perjury.txt`);
    expect(out.dmca?.elements).toMatchObject({
      accuracyUnderPenaltyOfPerjury: false,
      signature: true,
      goodFaithStatement: true,
    });
    expect(out.dmca?.missing).toEqual(['(vi) accuracy and authority under penalty of perjury']);
    expect(out.dmca?.works).toEqual(['Ten Years of Tide Tables']);
    expect(out.events[0]?.extra).toMatchObject({ dmca_complete: false });
  });

  it('reports a missing signature and refangs the infringing URL', async () => {
    const out = await checkParser(dmcaParser, `${dir}/missing-signature.txt`);
    expect(out.dmca?.missing).toEqual(['(i) physical or electronic signature']);
    expect(out.dmca?.claimant).toEqual({ email: 'licensing@typefoundry.example', phone: '+44 20 7946 0958' });
    expect(out.events[0]?.['source.url']).toBe(
      'https://free-fonts-download.example/seabreeze-sans-full-family.zip',
    );
  });

  it('reads an HTML notice, URLs from links and the signature after the sign-off', async () => {
    const out = await checkParser(dmcaParser, `${dir}/html-notice.html`, { rawInInput: false });
    expect(out.dmca).toMatchObject({
      complete: true,
      claimant: { name: 'Alex Rivera', email: 'alex.rivera@examplerecords.example' },
    });
    expect(out.dmca?.infringingUrls).toHaveLength(2);
  });

  it('detects DMCA notices, not other complaints', () => {
    const text = (s: string) => ({ bytes: new TextEncoder().encode(s), receivedAt: HARNESS_RECEIVED_AT });
    expect(dmcaParser.detect(fixtureInput(`${dir}/agent-for-studio.txt`))).toBeGreaterThan(0.9);
    expect(dmcaParser.detect(text('Port scan from 203.0.113.5, please stop it.'))).toBe(0);
    expect(dmcaParser.detect(text('Your customer hosts pirated movies.'))).toBeLessThan(0.5);
  });

  it('keeps a notice with no URL as an error, with the elements it has', async () => {
    const out = await dmcaParser.parse({
      bytes: new TextEncoder().encode(
        'DMCA notice: you host my copyrighted work. /s/ Kim Park, kim@example.org',
      ),
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(out.events).toEqual([]);
    expect(out.errors[0]).toMatchObject({
      location: '1',
      message: expect.stringMatching(/no infringing URL/),
    });
    expect(out.dmca?.elements).toMatchObject({
      signature: true,
      contactInformation: true,
      infringingMaterial: false,
    });
    expect(readDmcaNotice('nothing here').dmca.complete).toBe(false);
  });
});
