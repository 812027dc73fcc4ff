import { pathToFileURL } from 'node:url';
import { parseReport } from '../src/intake/parse-report.js';

/**
 * Intake benchmark, mail half: 10,000 ARF and X-ARF mails (alternating, generated in memory, each with its own
 * source address, times and ids) through `parseReport` on one core — MIME parsing, format detection, the
 * format parser, time normalisation and the event field-dictionary check included. Target ≥ 2,000 reports/s.
 *
 * The floor is the cheapest thing that touches the same bytes: decode each mail and split it into lines.
 * The ratio `floor / reports` says how many times dearer than "just reading it" parsing is.
 *
 * Exported for the combined `npm run bench -- intake`; runnable alone with `npx tsx bench/intake-mail.workload.ts`.
 */

const COUNT = 10_000;
const ROUNDS = 3;

export async function mailWorkload(): Promise<Record<string, number>> {
  const mails = generateMails(COUNT);
  const bytes = mails.reduce((n, m) => n + m.length, 0);
  const receivedAt = new Date('2026-01-15T12:00:00Z');

  // Warm up the JIT on a slice of the same inputs.
  for (let i = 0; i < 1000; i++) await parseReport({ bytes: mails[i]!, channel: 'smtp', receivedAt });

  const parseSeconds: number[] = [];
  let events = 0;
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    events = 0;
    failures = 0;
    const start = performance.now();
    for (const mail of mails) {
      const report = await parseReport({ bytes: mail, channel: 'smtp', receivedAt });
      events += report.events.length;
      if (report.status !== 'parsed') failures++;
    }
    parseSeconds.push((performance.now() - start) / 1000);
  }

  const floorSeconds: number[] = [];
  let lines = 0;
  for (let round = 0; round < ROUNDS; round++) {
    lines = 0;
    const start = performance.now();
    for (const mail of mails)
      lines += Buffer.from(mail.buffer, mail.byteOffset, mail.byteLength)
        .toString('latin1')
        .split('\n').length;
    floorSeconds.push((performance.now() - start) / 1000);
  }

  const parse = median(parseSeconds);
  const floor = median(floorSeconds);
  const reportsPerSecond = COUNT / parse;
  const floorReportsPerSecond = COUNT / floor;
  return {
    reports: COUNT,
    bytes,
    events,
    failures,
    lines,
    seconds: round3(parse),
    reportsPerSecond: Math.round(reportsPerSecond),
    floorSeconds: round3(floor),
    floorReportsPerSecond: Math.round(floorReportsPerSecond),
    ratioToFloor: round3(floorReportsPerSecond / reportsPerSecond),
    targetReportsPerSecond: 2000,
  };
}

function generateMails(count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < count; i++) {
    const ip = `198.51.${(i >> 8) & 255}.${i & 255}`;
    const day = String(1 + (i % 28)).padStart(2, '0');
    const text = i % 2 === 0 ? arfMail(i, ip, day) : xArfMail(i, ip, day);
    out.push(encoder.encode(text.replace(/\n/g, '\r\n')));
  }
  return out;
}

function arfMail(i: number, ip: string, day: string): string {
  return `From: Mailbox FBL <fbl@mailbox.example>
To: fbl@hosting.example
Subject: Email Feedback Report for IP ${ip}
Date: Mon, ${day} Jan 2026 09:15:02 -0500
Message-ID: <fbl-${i}@mailbox.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="b${i}"

--b${i}
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP ${ip}.

--b${i}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: MailboxFBL/2.1
Version: 1
Original-Mail-From: <news@customer${i % 97}.example>
Original-Rcpt-To: <redacted@mailbox.example>
Arrival-Date: Mon, ${day} Jan 2026 09:14:44 -0500
Reporting-MTA: dns; mx.mailbox.example
Source-IP: ${ip}
Reported-Domain: customer${i % 97}.example

--b${i}
Content-Type: message/rfc822

Received: from mail.customer${i % 97}.example (mail.customer${i % 97}.example [${ip}])
	by mx.mailbox.example with ESMTP id ${i}; Mon, ${day} Jan 2026 09:14:44 -0500
From: "News" <news@customer${i % 97}.example>
To: redacted@mailbox.example
Subject: Weekly offers ${i}
Date: Mon, ${day} Jan 2026 15:14:40 +0100
Message-ID: <offer-${i}@customer${i % 97}.example>

Our offers this week.
--b${i}--
`;
}

function xArfMail(i: number, ip: string, day: string): string {
  return `From: SSH Guard <reports@sshguard.example.org>
To: abuse@hosting.example
Subject: abuse report about ${ip}
Date: Wed, ${day} Jan 2026 10:31:10 +0100
Message-ID: <xarf-${i}@sshguard.example.org>
Auto-Submitted: auto-generated
X-ARF: YES
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="x${i}"

--x${i}
Content-Type: text/plain; charset=utf-8

Automated report for ${ip} in the X-ARF format.

--x${i}
Content-Type: text/plain; charset=utf-8; name="report.txt"

---
Reported-From: reports@sshguard.example.org
Category: abuse
Report-Type: login-attack
Service: ssh
Version: 0.2
User-Agent: Fail2Ban X-ARF 0.2
Date: 2026-01-${day}T10:31:07+01:00
Source-Type: ipv4
Source: ${ip}
Port: 22
Report-ID: ${i}@sshguard.example.org
Attachment: text/plain
Occurrences: ${1 + (i % 40)}

--x${i}
Content-Type: text/plain; charset=utf-8; name="logfile.log"

Jan ${day} 10:30:01 honeypot sshd[811]: Failed password for root from ${ip} port 50122 ssh2

--x${i}--
`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await mailWorkload();
  process.stdout.write(`${JSON.stringify({ bench: 'intake-mail', ...result })}\n`);
}
