import fc from 'fast-check';
import { describe, it } from 'vitest';
import { arfParser } from '../../src/intake/parsers/arf-parser.js';
import { dmcaParser } from '../../src/intake/parsers/dmca-parser.js';
import { freeTextParser } from '../../src/intake/parsers/free-text-parser.js';
import { intelmqParser } from '../../src/intake/parsers/intelmq-parser.js';
import { shadowserverParser } from '../../src/intake/parsers/shadowserver/shadowserver-parser.js';
import { spamcopParser } from '../../src/intake/parsers/spamcop-parser.js';
import { xArfParser } from '../../src/intake/parsers/x-arf-yaml-parser.js';
import { xarfParser } from '../../src/intake/parsers/xarf-json-parser.js';
import {
  arbitraryInput,
  FUZZ_RUNS,
  fuzzMailOnce,
  fuzzParameters,
  fuzzParserOnce,
  fuzzReportOnce,
  intakeFixtures,
  mutatedFixture,
} from '../support/fuzz-harness.js';

/**
 * Fuzzing every parser, the MIME reader and the whole intake (parseReport) with fast-check: arbitrary bytes
 * and mutated fixtures. A short budget here (AUPDESK_FUZZ_RUNS, default 15 per property); `npm run fuzz`
 * runs the long one (docs/fuzzing.md).
 */

const parsers = [
  arfParser,
  dmcaParser,
  freeTextParser,
  intelmqParser,
  shadowserverParser,
  spamcopParser,
  xArfParser,
  xarfParser,
];
const fixtures = intakeFixtures();
// Generous: with a large AUPDESK_FUZZ_RUNS each property runs for minutes.
const TIMEOUT = Math.max(60_000, FUZZ_RUNS * 400);

describe('intake fuzzing', () => {
  for (const parser of parsers) {
    it(
      `${parser.format}: mutated fixtures never escape, hang or break the output invariants`,
      async () => {
        await fc.assert(
          fc.asyncProperty(mutatedFixture(fixtures), async ({ fixture, bytes }) => {
            await fuzzParserOnce(parser, bytes, fixture.name.split('/').pop());
          }),
          fuzzParameters(),
        );
      },
      TIMEOUT,
    );

    it(
      `${parser.format}: arbitrary bytes never escape, hang or break the output invariants`,
      async () => {
        await fc.assert(
          fc.asyncProperty(
            arbitraryInput(),
            fc.constantFrom(undefined, 'report.csv', 'x.json', 'a.eml'),
            async (bytes, name) => {
              await fuzzParserOnce(parser, bytes, name);
            },
          ),
          fuzzParameters(),
        );
      },
      TIMEOUT,
    );
  }

  it(
    'MIME reader: mutated mail and arbitrary bytes parse, and every accessor answers',
    async () => {
      const mails = fixtures.filter((f) => f.isMail);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            mutatedFixture(mails).map((m) => m.bytes),
            arbitraryInput(),
          ),
          fuzzMailOnce,
        ),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );

  it(
    'parseReport: every mutated fixture becomes a report that explains itself',
    async () => {
      await fc.assert(
        fc.asyncProperty(mutatedFixture(fixtures), async ({ fixture, bytes }) => {
          await fuzzReportOnce(bytes, { fileName: fixture.name.split('/').pop(), mail: fixture.isMail });
        }),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );

  it(
    'parseReport: arbitrary bytes as mail and as a file become a report that explains itself',
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitraryInput(), fc.boolean(), async (bytes, mail) => {
          await fuzzReportOnce(bytes, { mail, ...(mail ? {} : { fileName: 'upload.bin' }) });
        }),
        fuzzParameters(),
      );
    },
    TIMEOUT,
  );
});
