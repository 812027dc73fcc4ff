import { gzipSync } from 'node:zlib';

/**
 * A complaint mail the way a reporter with a big log sends it: a short body and a gzip attachment of ssh
 * log lines that inflates to `inflatedMiB` MiB. It is inside every intake limit (the entry stays under
 * 256 MiB, the ratio near 95:1, under the 200:1 bomb limit), so the desk has to read it all. A 16 KiB block
 * of lines repeated keeps both the generation and the gzip fast (deflate's 32 KiB window sees each repeat).
 */
export function inflatingMail(inflatedMiB: number, messageId: string): { mail: Buffer; gzipBytes: number } {
  const bytes = inflatedMiB * 1024 * 1024;
  const lines: string[] = [];
  let len = 0;
  for (let i = 0; len < 16 * 1024; i++) {
    // One line in 64 names the address; the rest are the noise around it in a real auth log.
    const line =
      i % 64 === 0
        ? `2026-01-15T10:${String(i % 60).padStart(2, '0')}:00Z sshd[${1000 + i}]: Failed password for invalid user admin from 198.51.100.${(i % 250) + 1} port ${40000 + i} ssh2`
        : `2026-01-15T10:${String(i % 60).padStart(2, '0')}:00Z sshd[${1000 + i}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= user=admin`;
    lines.push(line);
    len += line.length + 1;
  }
  const block = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
  const raw = Buffer.allocUnsafe(bytes);
  for (let pos = 0; pos < bytes; pos += block.length)
    block.copy(raw, pos, 0, Math.min(block.length, bytes - pos));
  const gz = gzipSync(raw, { level: 6 });
  const base64 = gz.toString('base64').replace(/.{76}/g, '$&\r\n');
  const mail = [
    'From: "Ops Team" <ops@reporter-big.example>',
    'To: abuse@desk-e2e.example',
    'Subject: ssh brute force from your network (full log attached)',
    `Message-ID: ${messageId}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="log-boundary"',
    '',
    '--log-boundary',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello, 198.51.100.7 and other hosts in your network keep trying passwords on our ssh servers.',
    'Our full auth log is attached.',
    '--log-boundary',
    'Content-Type: application/gzip; name="auth.log.gz"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="auth.log.gz"',
    '',
    base64,
    '--log-boundary--',
    '',
  ].join('\r\n');
  return { mail: Buffer.from(mail, 'latin1'), gzipBytes: gz.length };
}
