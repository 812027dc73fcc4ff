import { describe, expect, it } from 'vitest';
import { HARNESS_RECEIVED_AT } from '../../../../test/support/parser-harness.js';
import { shadowserverParser } from './shadowserver-parser.js';

/**
 * Real Shadowserver CSVs drop empty trailing fields. Headers here are Shadowserver's documented columns for
 * each report (profile columns, then the report's own, as in report-types.ts); rows are written the way the
 * files arrive: a full row, a row cut after its last non-empty field, a row with a field too many, a row with
 * a quote that never closes. Fewer fields than the header means the rest are empty; the other two fail alone.
 */

const SCAN = 'timestamp ip protocol port hostname tag asn geo region city naics sic sector';
const EVENT =
  'timestamp protocol src_ip src_port src_asn src_geo src_region src_city src_hostname src_naics src_sector device_vendor device_type device_model dst_ip dst_port dst_asn dst_geo dst_region dst_city dst_hostname dst_naics dst_sector public_source infection family tag application version event_id';

const REPORTS: Record<string, { header: string; full: string[]; short: string[] }> = {
  event4_honeypot_ddos: {
    header: `${EVENT} domain_source dst_network dst_netmask attack duration attack_src_ip attack_src_port domain domain_transaction_id gcip http_method http_path http_postdata http_usessl ip_header_ack ip_header_acknum ip_header_dont_fragment ip_header_fin ip_header_identity ip_header_psh ip_header_rst ip_header_seqnum ip_header_syn ip_header_tos ip_header_ttl ip_header_urg number_of_connections packet_length packet_randomized http_agent`,
    full: [
      '2026-01-15 00:10:00',
      'tcp',
      '198.51.100.20',
      '4444',
      '64496',
      'NL',
      'NOORD-HOLLAND',
      'AMSTERDAM',
      '',
      '',
      '',
      '',
      '',
      '',
      '203.0.113.9',
      '80',
      '64511',
      'US',
    ],
    short: ['2026-01-15 00:11:00', 'udp', '198.51.100.21', '4444', '64496', 'NL'],
  },
  scan_rdp: {
    header: `${SCAN} handshake rdp_protocol cert_length subject_common_name issuer_common_name cert_issue_date cert_expiration_date sha1_fingerprint cert_serial_number ssl_version signature_algorithm key_algorithm sha256_fingerprint sha512_fingerprint md5_fingerprint tlsv13_support tlsv13_cipher cve20190708_vulnerable bluekeep_vulnerable jarm`,
    full: [
      '2026-01-15 01:00:00',
      '198.51.100.30',
      'tcp',
      '3389',
      'rdp.example.net',
      'rdp',
      '64496',
      'NL',
      'NOORD-HOLLAND',
      'AMSTERDAM',
      '0',
      '0',
      '',
      'SSL',
      'RDP 5.x',
    ],
    short: ['2026-01-15 01:01:00', '198.51.100.31', 'tcp', '3389', '', 'rdp', '64496', 'NL'],
  },
  event4_microsoft_sinkhole: {
    header: EVENT,
    full: [
      '2026-01-15 02:00:00',
      'tcp',
      '198.51.100.40',
      '51234',
      '64496',
      'NL',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '192.0.2.1',
      '80',
      '8075',
      'US',
      '',
      '',
      '',
      '',
      '',
      'Microsoft',
      'b68-dga',
      'necurs',
    ],
    short: [
      '2026-01-15 02:01:00',
      'tcp',
      '198.51.100.41',
      '51235',
      '64496',
      'NL',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '',
      '192.0.2.1',
      '80',
      '8075',
      'US',
      '',
      '',
      '',
      '',
      '',
      'Microsoft',
      'b68-dga',
    ],
  },
  scan_synfulknock: {
    header: `${SCAN} sequence_number ack_number window_size urgent_pointer tcp_flags raw_packet`,
    full: [
      '2026-01-15 03:00:00',
      '198.51.100.50',
      'tcp',
      '80',
      'router.example.net',
      'synfulknock',
      '64496',
      'NL',
      '',
      '',
      '0',
      '0',
      '',
      '791102',
      '0',
      '1',
      '0',
      'SA',
    ],
    short: ['2026-01-15 03:01:00', '198.51.100.51', 'tcp', '80', '', 'synfulknock', '64496', 'NL'],
  },
};

const csvLine = (fields: string[]) => fields.map((f) => (/^\d+$/.test(f) ? f : `"${f}"`)).join(',');

describe('Shadowserver rows with missing trailing fields', () => {
  for (const [type, spec] of Object.entries(REPORTS)) {
    it(`parses a short ${type} row as having empty trailing fields, failing only the broken rows`, async () => {
      const columns = spec.header.split(' ');
      const tooMany = [...spec.full, ...Array(columns.length - spec.full.length).fill(''), 'extra'];
      const text = [
        csvLine(columns),
        csvLine(spec.full),
        csvLine(spec.short),
        csvLine(tooMany),
        `${csvLine(spec.short.slice(0, 3))},"never closed`,
        csvLine(spec.short),
      ].join('\r\n');
      const out = await shadowserverParser.parse({
        bytes: new TextEncoder().encode(`${text}\r\n`),
        fileName: `2026-01-15-${type}-example_org-geo.csv`,
        receivedAt: HARNESS_RECEIVED_AT,
      });
      expect(out.events.map((e) => e['raw.location'])).toEqual(['2', '3', '6']);
      expect(out.events.map((e) => e['feed.name'])).toEqual(Array(3).fill(`shadowserver-${type}`));
      expect(out.events[1]?.['time.source']).toBe(`${spec.short[0]!.replace(' ', 'T')}.000Z`);
      expect(out.errors.map((e) => [e.location, e.message])).toEqual([
        ['4', `row has ${columns.length + 1} fields, header has ${columns.length}`],
        ['5', 'unterminated quoted field'],
      ]);
    });
  }
});
