import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AupError } from '../errors.js';
import {
  dropDirSettings,
  imapSettingsFromEnv,
  parseFeedsText,
  smtpIntakeSettingsFromEnv,
} from './serve-channels.js';

describe('feeds file', () => {
  it('reads YAML (list or {feeds}) and JSON into the poller settings, with durations and env headers', () => {
    const yaml = [
      'feeds:',
      '  - name: shadow-scan',
      '    url: https://reports.example.net/scan.csv',
      '    interval: 15m',
      '    timeout: 90s',
      '    max_bytes: 1048576',
      '    route: abuse',
      '    headers:',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the feeds file's own ${VAR} syntax
      '      Authorization: "Bearer ${TOKEN}"',
      '  - name: partner',
      '    url: http://10.0.0.5/events.jsonl',
      '    interval: 120',
    ].join('\n');
    expect(parseFeedsText(yaml, 'feeds.yaml', { TOKEN: 't0k' })).toEqual([
      {
        name: 'shadow-scan',
        url: 'https://reports.example.net/scan.csv',
        intervalMs: 900_000,
        timeoutMs: 90_000,
        maxBytes: 1_048_576,
        route: 'abuse',
        headers: { Authorization: 'Bearer t0k' },
      },
      { name: 'partner', url: 'http://10.0.0.5/events.jsonl', intervalMs: 120_000 },
    ]);
    expect(parseFeedsText('[{"name":"a","url":"https://x.example/a","interval":"1d"}]', 'f.json')).toEqual([
      { name: 'a', url: 'https://x.example/a', intervalMs: 86_400_000 },
    ]);
    expect(parseFeedsText('', 'empty.yaml')).toEqual([]);
  });

  it.each([
    [
      'a field the file does not know',
      '- {name: a, url: "https://x.example/a", intervall: 1h}',
      /feed 1 \(a\): unknown field "intervall"/,
    ],
    ['a missing url', '- {name: a}', /feed 1 \(a\): url: is required/],
    ['a url that is not http(s)', '- {name: a, url: "file:///etc/passwd"}', /feed 1 \(a\): url: /],
    [
      'an interval below 1 s',
      '- {name: a, url: "https://x.example/a", interval: 200ms}',
      /feed 1 \(a\): interval: /,
    ],
    [
      'a bad name',
      '- {name: "a b", url: "https://x.example/a"}',
      /feed 1 \(a b\): name: feed name: letters, digits/,
    ],
    [
      'a duplicate name',
      '- {name: a, url: "https://x.example/a"}\n- {name: a, url: "https://x.example/b"}',
      /feed 2 \(a\): the name is already used by feed 1/,
    ],
    [
      'an unset header variable',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the feeds file's own ${VAR} syntax
      '- {name: a, url: "https://x.example/a", headers: {X-Key: "${NOPE}"}}',
      /feed 1 \(a\): headers\.X-Key: environment variable NOPE is not set/,
    ],
    ['not a list', 'name: a', /expected a list of feeds, or an object with a "feeds" list/],
  ])('rejects %s, naming the entry', (_what, text, message) => {
    expect(() => parseFeedsText(text, '/etc/aupdesk/feeds.yaml', {})).toThrow(
      expect.objectContaining({ code: 'AUP_ERR_CONFIG_INVALID', message: expect.stringMatching(message) }),
    );
  });
});

describe('IMAP settings from the environment', () => {
  it('is off without a host, and reads every setting with defaults', () => {
    expect(imapSettingsFromEnv({})).toBeUndefined();
    expect(
      imapSettingsFromEnv({
        AUPDESK_IMAP_HOST: 'imap.example.net',
        AUPDESK_IMAP_USER: 'u',
        AUPDESK_IMAP_PASSWORD: 'p',
      }),
    ).toEqual({
      host: 'imap.example.net',
      port: 993,
      secure: true,
      allowSelfSigned: false,
      user: 'u',
      password: 'p',
      intervalMs: 60_000,
    });
    expect(
      imapSettingsFromEnv({
        AUPDESK_IMAP_HOST: 'imap.example.net',
        AUPDESK_IMAP_PORT: '143',
        AUPDESK_IMAP_ALLOW_SELF_SIGNED: 'yes',
        AUPDESK_IMAP_USER: 'u',
        AUPDESK_IMAP_PASSWORD: 'p',
        AUPDESK_IMAP_MAILBOX: 'Abuse',
        AUPDESK_IMAP_PROCESSED_FOLDER: 'Done',
        AUPDESK_IMAP_FAILED_FOLDER: 'Bad',
        AUPDESK_IMAP_ROUTE: 'dmca',
        AUPDESK_IMAP_MAX_BYTES: '1000000',
        AUPDESK_IMAP_BATCH: '50',
        AUPDESK_IMAP_POLL_MS: '30000',
      }),
    ).toMatchObject({
      port: 143,
      secure: false,
      allowSelfSigned: true,
      mailbox: 'Abuse',
      processedFolder: 'Done',
      failedFolder: 'Bad',
      route: 'dmca',
      maxMessageBytes: 1_000_000,
      batch: 50,
      intervalMs: 30_000,
    });
  });

  it.each([
    [{ AUPDESK_IMAP_PASSWORD: 'p' }, /AUPDESK_IMAP_USER: is required with AUPDESK_IMAP_HOST/],
    [
      { AUPDESK_IMAP_USER: 'u', AUPDESK_IMAP_PASSWORD: 'p', AUPDESK_IMAP_PORT: '99999' },
      /AUPDESK_IMAP_PORT: must be a port number/,
    ],
    [
      { AUPDESK_IMAP_USER: 'u', AUPDESK_IMAP_PASSWORD: 'p', AUPDESK_IMAP_POLL_MS: 'soon' },
      /AUPDESK_IMAP_POLL_MS: must be a whole number/,
    ],
    [
      { AUPDESK_IMAP_USER: 'u', AUPDESK_IMAP_PASSWORD: 'p', AUPDESK_IMAP_SECURE: 'maybe' },
      /AUPDESK_IMAP_SECURE: /,
    ],
  ])('names the bad variable (%o)', (env, message) => {
    expect(() => imapSettingsFromEnv({ AUPDESK_IMAP_HOST: 'imap.example.net', ...env })).toThrow(message);
  });
});

describe('drop directory settings', () => {
  it('takes the flag over the environment and checks the route', () => {
    expect(dropDirSettings(undefined, {})).toBeUndefined();
    expect(dropDirSettings('/srv/drop', { AUPDESK_DROP_DIR: '/other' })).toEqual({ dir: '/srv/drop' });
    expect(
      dropDirSettings(undefined, { AUPDESK_DROP_DIR: '/srv/drop', AUPDESK_DROP_ROUTE: 'abuse' }),
    ).toEqual({
      dir: '/srv/drop',
      route: 'abuse',
    });
    expect(() => dropDirSettings('/srv/drop', { AUPDESK_DROP_ROUTE: 'Not A Route' })).toThrow(
      /AUPDESK_DROP_ROUTE/,
    );
  });
});

describe('SMTP intake settings from the environment', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'aupdesk-smtp-settings-'));
    await writeFile(
      path.join(dir, 'key.pem'),
      '-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n',
    );
    await writeFile(
      path.join(dir, 'cert.pem'),
      '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const refused = async (env: NodeJS.ProcessEnv): Promise<string> => {
    const error = await smtpIntakeSettingsFromEnv(env).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AupError);
    expect((error as AupError).code).toBe('AUP_ERR_CONFIG_INVALID');
    return (error as AupError).message;
  };

  it('sets nothing by default, and reads every setting, the PEM files included', async () => {
    expect(await smtpIntakeSettingsFromEnv({ AUPDESK_IMAP_HOST: 'x', AUPDESK_INTAKE_SMTP_NAME: '' })).toEqual(
      {},
    );
    expect(
      await smtpIntakeSettingsFromEnv({
        AUPDESK_INTAKE_SMTP_NAME: 'mx.desk.example',
        AUPDESK_INTAKE_SMTP_DOMAINS: 'Desk.example, abuse.example.net ,',
        AUPDESK_INTAKE_SMTP_MAX_BYTES: '10485760',
        AUPDESK_INTAKE_SMTP_MAX_CLIENTS: '500',
        AUPDESK_INTAKE_SMTP_MAX_CONNECTIONS_PER_CLIENT: '20',
        AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: '3000',
        AUPDESK_INTAKE_SMTP_TLS_KEY: path.join(dir, 'key.pem'),
        AUPDESK_INTAKE_SMTP_TLS_CERT: path.join(dir, 'cert.pem'),
      }),
    ).toEqual({
      serverName: 'mx.desk.example',
      domains: ['desk.example', 'abuse.example.net'],
      maxMessageBytes: 10_485_760,
      maxClients: 500,
      maxConnectionsPerClient: 20,
      rateLimit: { messages: 3000, perMs: 60_000 },
      tls: {
        key: expect.stringContaining('PRIVATE KEY'),
        cert: expect.stringContaining('CERTIFICATE'),
      },
    });
  });

  it('names the variable that is wrong', async () => {
    expect(await refused({ AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: 'lots' })).toMatch(
      /^AUPDESK_INTAKE_SMTP_RATE_PER_MINUTE: must be a whole number/,
    );
    expect(await refused({ AUPDESK_INTAKE_SMTP_MAX_BYTES: '100' })).toMatch(
      /MAX_BYTES: must be at least 1024/,
    );
    expect(await refused({ AUPDESK_INTAKE_SMTP_DOMAINS: 'desk example' })).toMatch(
      /^AUPDESK_INTAKE_SMTP_DOMAINS/,
    );
    // A misspelt variable is an error, not a silently ignored limit.
    expect(await refused({ AUPDESK_INTAKE_SMTP_RATE: '10' })).toMatch(/AUPDESK_INTAKE_SMTP_RATE/);
    expect(await refused({ AUPDESK_INTAKE_SMTP_TLS_KEY: path.join(dir, 'key.pem') })).toMatch(
      /set both \(STARTTLS\) or neither/,
    );
    expect(
      await refused({
        AUPDESK_INTAKE_SMTP_TLS_KEY: path.join(dir, 'missing.pem'),
        AUPDESK_INTAKE_SMTP_TLS_CERT: path.join(dir, 'cert.pem'),
      }),
    ).toBe(`AUPDESK_INTAKE_SMTP_TLS_KEY: cannot read ${path.join(dir, 'missing.pem')}`);
    expect(
      await refused({
        AUPDESK_INTAKE_SMTP_TLS_KEY: path.join(dir, 'cert.pem'),
        AUPDESK_INTAKE_SMTP_TLS_CERT: path.join(dir, 'cert.pem'),
      }),
    ).toMatch(/TLS_KEY: .* is not a PEM PRIVATE KEY file/);
  });
});
