import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkParser, fixtureInput, HARNESS_RECEIVED_AT } from '../../../../test/support/parser-harness.js';
import { eventSchema } from '../../event.js';
import { readCsvRecords } from './csv-record-reader.js';
import { compileReportTypeTable } from './report-type-table.js';
import { shadowserverReportTypeData, shadowserverReportTypes } from './report-types.js';
import {
  createShadowserverParser,
  shadowserverParser,
  shadowserverStemFromFileName,
} from './shadowserver-parser.js';

const dir = 'test/fixtures/intake/shadowserver';
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.csv'));

describe('shadowserver parser: fixtures through the shared harness', () => {
  it.each(fixtures)('%s', async (name) => {
    // The Windows-1252 fixture is decoded as such, so its raw text cannot occur in a UTF-8 reading of the bytes.
    await checkParser(shadowserverParser, `${dir}/${name}`, { rawInInput: !name.includes('scan_smb') });
  });
});

describe('shadowserver parser: behaviour', () => {
  const parse = async (name: string) => shadowserverParser.parse(fixtureInput(`${dir}/${name}`));

  it('maps scan_dns to an open resolver with source, port, ASN, geo and the rest in extra', async () => {
    const out = await parse('2026-01-15-scan_dns-example_org-geo.csv');
    expect(out.events).toHaveLength(3);
    const [first] = out.events;
    expect(first).toMatchObject({
      'classification.taxonomy': 'vulnerable',
      'classification.type': 'vulnerable-system',
      'classification.identifier': 'openresolver',
      'time.source': '2026-01-15T00:14:34.000Z',
      'source.ip': '198.51.100.179',
      'source.port': 53,
      'source.asn': 64496,
      'protocol.transport': 'udp',
      'protocol.application': 'dns',
      'feed.name': 'shadowserver-scan_dns',
      'feed.provider': 'Shadowserver',
      'raw.location': '2',
    });
    expect(first?.extra).toMatchObject({ dns_version: 'dnsmasq-2.66', city: 'AMSTERDAM' });
    // ASN 0 means "unknown" in Shadowserver files, not AS0.
    expect(out.events[2]?.['source.asn']).toBeUndefined();
  });

  it('takes malware.name and the identifier from the infection column of sinkhole events', async () => {
    const out = await parse('2026-01-15-event4_sinkhole-example_org-geo.csv');
    expect(out.events.map((e) => [e['malware.name'], e['classification.identifier']])).toEqual([
      ['victorygate.b', 'victorygate.b'],
      ['andromeda', 'andromeda'],
    ]);
  });

  it('reclassifies a row by rule (Exchange webshell is a compromise, not a vulnerability)', async () => {
    const out = await parse('2026-01-15-scan_exchange-example_org-geo.csv');
    expect(out.events.map((e) => `${e['classification.taxonomy']}/${e['classification.type']}`)).toEqual([
      'vulnerable/vulnerable-system',
      'intrusions/system-compromise',
    ]);
  });

  it('joins a relative URL with its host (compromised_website)', async () => {
    const out = await parse('2026-01-15-compromised_website-example_org-geo.csv');
    expect(out.events[0]?.['source.url']).toBe('http://shop.example.com/header.php');
  });

  it('keeps going past bad rows and says where each one is', async () => {
    const out = await parse('2026-01-15-scan_telnet-broken_org-geo.csv');
    expect(out.events.map((e) => e['raw.location'])).toEqual(['2', '5']);
    expect(out.events[1]?.extra?.banner).toBe('BusyBox v1.19.4\n(none) login: ');
    expect(out.errors.map((e) => [e.location, e.message])).toEqual([
      ['3', 'row has 14 fields, header has 13'],
      ['4', 'bad source.ip "198.51.100.300" (column ip)'],
      ['7', 'missing source.ip (column ip)'],
      ['8', 'bad time.source "2026-01-15 25:00:06" (column timestamp)'],
      ['9', 'unterminated quoted field'],
    ]);
    expect(out.errors[1]?.raw).toContain('198.51.100.300');
  });

  it('reports a header without a source column once instead of failing every row', async () => {
    const out = await parse('2026-01-15-scan_rdp-example_org-geo.csv');
    expect(out.events).toEqual([]);
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]?.message).toMatch(/source\.ip/);
  });

  it('decodes a Windows-1252 file and says so', async () => {
    const out = await parse('2026-01-15-scan_smb-example_org-geo.csv');
    expect(out.events[0]?.extra?.city).toBe('MÜNCHEN');
    expect(out.errors[0]).toMatchObject({ location: 'file', message: expect.stringMatching(/Windows-1252/) });
  });

  it('recognises an unnamed file by its columns and records the score', async () => {
    const out = await parse('shadowserver-report.csv');
    expect(out.events[0]?.['feed.name']).toBe('shadowserver-scan_memcached');
    expect(out.events[0]?.extra?.shadowserver_type_score).toBeGreaterThan(0.8);
  });

  it('parses an old report name as its current type, keeping the old name', async () => {
    const out = await parse('2026-01-15-botnet_drone-example_org-geo.csv');
    expect(out.events[0]).toMatchObject({
      'feed.name': 'shadowserver-event4_sinkhole',
      'malware.name': 'conficker',
      extra: expect.objectContaining({ shadowserver_report: 'botnet_drone' }),
    });
  });

  it('keeps an unknown report with an unrecognisable header as other/unknown rather than dropping it', async () => {
    const csv = '"timestamp","ip","port","widget_colour"\n"2026-01-15 00:00:00","198.51.100.1",8080,"blue"\n';
    const out = await shadowserverParser.parse({
      bytes: new TextEncoder().encode(csv),
      fileName: '2026-01-15-scan_widget-example_org-geo.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(out.events[0]).toMatchObject({
      'classification.taxonomy': 'other',
      'classification.type': 'unknown',
      'classification.identifier': 'scan_widget',
      'feed.name': 'shadowserver-scan_widget',
      'source.port': 8080,
    });
  });

  it('handles an empty file and a header-only file', async () => {
    const empty = await shadowserverParser.parse({
      bytes: new Uint8Array(),
      fileName: 'scan_dns.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(empty.errors[0]?.message).toMatch(/empty/);
    const headerOnly = await shadowserverParser.parse({
      bytes: new TextEncoder().encode('"timestamp","ip","port"\r\n'),
      fileName: 'scan_dns.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    });
    expect(headerOnly).toMatchObject({ events: [], errors: [] });
  });
});

describe('shadowserver report-type table', () => {
  it('reads the type from every file-name form Shadowserver uses', () => {
    expect(shadowserverStemFromFileName('2026-01-15-scan_dns-example_org-geo.csv')).toBe('scan_dns');
    expect(shadowserverStemFromFileName('2026-01-15-scan6_dns-example_org.csv')).toBe('scan6_dns');
    expect(shadowserverStemFromFileName('/tmp/x/2026-01-15-event6_sinkhole_http-as64496-geo.csv')).toBe(
      'event6_sinkhole_http',
    );
    expect(shadowserverStemFromFileName('scan_ntp.csv')).toBe('scan_ntp');
    expect(shadowserverStemFromFileName('report.txt')).toBeUndefined();
  });

  it('covers the report families the desk receives, v6 variants and old names included', () => {
    for (const stem of [
      'scan_dns',
      'scan6_dns',
      'scan_ntp',
      'scan_ssdp',
      'scan_snmp',
      'scan_memcached',
      'scan_rdp',
      'scan_smb',
      'scan_telnet',
      'scan_http',
      'scan_ssl',
      'scan_ssl_poodle',
      'scan_ssl_freak',
      'scan_elasticsearch',
      'scan_mongodb',
      'scan_redis',
      'scan_mssql',
      'scan_mysql',
      'scan_vnc',
      'scan_ftp',
      'scan_ipp',
      'scan_cwmp',
      'scan_mqtt',
      'scan_ldap_udp',
      'scan_ldap_tcp',
      'scan_ard',
      'scan_chargen',
      'scan_qotd',
      'scan_portmapper',
      'scan_netbios',
      'scan_tftp',
      'scan_isakmp',
      'scan_coap',
      'scan_ubiquiti',
      'scan_xdmcp',
      'scan_docker',
      'scan_couchdb',
      'scan_amqp',
      'scan_http_proxy',
      'scan_socks',
      'scan_ssh',
      'scan_exchange',
      'scan_stun',
      'scan_dvr_dhcpdiscover',
      'event4_sinkhole',
      'event6_sinkhole',
      'event4_sinkhole_http',
      'event4_sinkhole_dns',
      'event4_honeypot_brute_force',
      'event4_honeypot_darknet',
      'event4_honeypot_ddos_amp',
      'event4_ddos_participant',
      'event4_ip_spoofer',
      'compromised_website',
      'phish_url',
      'malware_url',
      'blocklist',
      'population_http_proxy',
      'population_bgp',
      'botnet_drone',
      'scan_ldap',
    ])
      expect(shadowserverReportTypes.byStem(stem), stem).toBeDefined();
    const cls = (s: string) => shadowserverReportTypes.byStem(s)?.spec.class;
    expect(cls('scan_dns')).toBe('vulnerable/vulnerable-system');
    expect(cls('scan_ntp')).toBe('vulnerable/ddos-amplifier');
    expect(cls('event4_sinkhole')).toBe('malicious-code/infected-system');
    expect(cls('event4_honeypot_brute_force')).toBe('intrusion-attempts/brute-force');
    expect(cls('event4_ddos_participant')).toBe('availability/ddos');
    expect(cls('phish_url')).toBe('fraud/phishing');
    expect(cls('blocklist')).toBe('other/blacklist');
  });

  it('rejects a bad entry when the table is compiled', () => {
    const bad = structuredClone(shadowserverReportTypeData) as typeof shadowserverReportTypeData & {
      types: Array<Record<string, unknown>>;
    };
    bad.types.push({ type: 'scan_x', name: 'X', profile: 'scan', class: 'vulnerable/not-a-type' });
    expect(() => compileReportTypeTable(bad)).toThrow(/taxonomy/);
    const dup = structuredClone(shadowserverReportTypeData) as typeof bad;
    dup.types.push({ type: 'scan_dns', name: 'again', profile: 'scan', class: 'other/other' });
    expect(() => compileReportTypeTable(dup)).toThrow(/already names/);
  });

  it('adds a new report type as data only', async () => {
    const data = structuredClone(shadowserverReportTypeData) as typeof shadowserverReportTypeData & {
      types: Array<Record<string, unknown>>;
    };
    data.types.push({
      type: 'scan_gopher',
      v6: 'scan6_gopher',
      name: 'Accessible Gopher',
      profile: 'scan',
      class: 'vulnerable/potentially-unwanted-accessible',
      identifier: 'accessible-gopher',
      application: 'gopher',
      transport: 'tcp',
      columns: 'selector menu_items',
    });
    const parser = createShadowserverParser(compileReportTypeTable(data));
    const csv =
      '"timestamp","ip","protocol","port","hostname","tag","asn","geo","region","city","naics","sic","selector","menu_items"\n' +
      '"2026-01-15 11:00:00","2001:db8::70","tcp",70,"gopher.example.net","gopher",64496,"NL",,,0,0,"/",12\n';
    const input = {
      bytes: new TextEncoder().encode(csv),
      fileName: '2026-01-15-scan6_gopher-example_org-geo.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    };
    expect(parser.detect(input)).toBeGreaterThan(0.9);
    const out = await parser.parse(input);
    expect(out.errors).toEqual([]);
    expect(out.events[0]).toMatchObject({
      'classification.type': 'potentially-unwanted-accessible',
      'classification.identifier': 'accessible-gopher',
      'feed.name': 'shadowserver-scan6_gopher',
      'source.ip': '2001:db8::70',
      'source.port': 70,
      extra: { selector: '/', menu_items: '12', tag: 'gopher' },
    });
    expect(eventSchema.safeParse(out.events[0]).success).toBe(true);
    // The stock parser does not know it.
    expect(shadowserverReportTypes.byStem('scan_gopher')).toBeUndefined();
  });

  it('does not claim CSV that is not Shadowserver', () => {
    const input = {
      bytes: new TextEncoder().encode('name,email\nalice,alice@example.org\n'),
      fileName: 'contacts.csv',
      receivedAt: HARNESS_RECEIVED_AT,
    };
    expect(shadowserverParser.detect(input)).toBe(0);
  });
});

describe('csv record reader', () => {
  const read = (text: string) => {
    const records: Array<[string[], number]> = [];
    const errors: Array<[string, number]> = [];
    readCsvRecords(text, { record: (f, l) => records.push([f, l]), error: (m, l) => errors.push([m, l]) });
    return { records, errors };
  };

  it('reads quoted commas, doubled quotes, CRLF and newlines inside quotes with starting line numbers', () => {
    const { records } = read('a,"b,c","say ""hi"""\r\n"multi\r\nline",x,\r\nlast,1,2');
    expect(records).toEqual([
      [['a', 'b,c', 'say "hi"'], 1],
      [['multi\r\nline', 'x', ''], 2],
      [['last', '1', '2'], 4],
    ]);
  });

  it('recovers from an unterminated quote at the end of its line', () => {
    const { records, errors } = read('a,"open\nb,c\n');
    expect(errors).toEqual([['unterminated quoted field', 1]]);
    expect(records).toEqual([[['b', 'c'], 2]]);
  });
});
