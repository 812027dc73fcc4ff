import { describe, expect, it } from 'vitest';
import { checkParser, fixtureInput, HARNESS_RECEIVED_AT } from '../../../test/support/parser-harness.js';
import { intelmqParser, normaliseIntelmqEvent } from './intelmq-parser.js';

const dir = 'test/fixtures/intake/intelmq';

describe('intelmq parser', () => {
  it('reads flat, __type-tagged and hierarchical IntelMQ events', async () => {
    const out = await checkParser(intelmqParser, `${dir}/cert-feed.jsonl`);
    expect(out.events).toHaveLength(5);
    expect(out.errors).toEqual([]);
    const [drop, scanner, phish, legacy, typeOnly] = out.events;
    expect(drop).toMatchObject({
      'time.source': '2026-01-15T10:00:00.000Z',
      'source.network': '198.51.100.0/24',
      extra: { sbl_id: 'SBL123456' },
      'raw.location': '1',
    });
    // Offsets converted to UTC; strings coerced; unknown fields kept in extra.
    expect(scanner).toMatchObject({
      'time.source': '2026-01-15T10:30:00.000Z',
      'source.ip': '2001:db8::1',
      'source.port': 52311,
      'protocol.transport': 'tcp',
      extra: { 'source.geolocation.city': 'Amsterdam', count: 412 },
    });
    expect(phish).toMatchObject({ 'feed.name': 'Phishing feed', 'source.fqdn': 'login.example.com' });
    // Pre-RSIT classification: kept in extra, event classified other/unknown; bad fqdn moved to extra.
    expect(legacy).toMatchObject({
      'classification.taxonomy': 'other',
      'classification.type': 'unknown',
      extra: {
        intelmq_classification: { type: 'botnet drone' },
        assumed_utc: true,
        'source.fqdn': 'not a host name!',
      },
    });
    expect(legacy?.['source.fqdn']).toBeUndefined();
    expect(typeOnly?.['classification.taxonomy']).toBe('intrusion-attempts');
  });

  it('turns each bad line into an error with its line number and keeps the good ones', async () => {
    const out = await checkParser(intelmqParser, `${dir}/malformed.jsonl`);
    expect(out.events.map((e) => e['raw.location'])).toEqual(['1', '9']);
    expect(out.errors.map((e) => e.location)).toEqual(['2', '4', '5', '6', '7', '8']);
    expect(out.errors[0]?.message).toMatch(/^invalid JSON/);
    expect(out.errors[1]?.message).toMatch(/source\.ip/);
    expect(out.errors[3]?.message).toMatch(/Report/);
    expect(out.events[1]?.extra).toMatchObject({ 'source.port': 70000, invalid_fields: ['source.port'] });
  });

  it('detects IntelMQ lines but not other JSON', () => {
    const input = (text: string, fileName = 'x.json') => ({
      bytes: new TextEncoder().encode(text),
      fileName,
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(intelmqParser.detect(fixtureInput(`${dir}/cert-feed.jsonl`))).toBeGreaterThan(0.9);
    expect(intelmqParser.detect(input('{"Version": "4", "ReporterInfo": {}}'))).toBe(0);
    expect(intelmqParser.detect(input('timestamp,ip\n'))).toBe(0);
  });

  it('normalises a single object', () => {
    expect(
      normaliseIntelmqEvent({ 'classification.type': 'spam', 'source.ip': '192.0.2.1', 'feed.name': 'x' }),
    ).toMatchObject({ 'classification.taxonomy': 'abusive-content' });
    expect(normaliseIntelmqEvent({ 'source.ip': '192.0.2.1', __type: 'Report' })).toMatch(/Report/);
  });
});
