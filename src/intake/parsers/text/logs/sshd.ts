import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * OpenSSH's authentication failures as sshd logs them (auth.log / secure / journal): `Failed password for
 * [invalid user] root from 203.0.113.45 port 40122 ssh2`, `Invalid user admin from …`, `Disconnected from
 * authenticating user root … [preauth]`, `maximum authentication attempts exceeded`, and PAM's `rhost=`. The
 * address after `from` is the client that tried. `Accepted …` lines are read too, to settle their address: a
 * login that worked is not evidence against anybody (it is usually the reporter's own admin), so they name no
 * source.
 */
export const sshdRecogniser: LogRecogniser = {
  kind: 'sshd',
  pattern: new RegExp(
    String.raw`sshd(?:-session)?\[\d+\]: (?:Failed (?:password|publickey|none|keyboard-interactive\/pam) for (?:invalid user )?(?<user>\S*) from (?<ip>${IP})(?: port (?<port>\d+))?|Invalid user (?<user2>\S*) from (?<ip2>${IP})|(?:Disconnected from|Connection closed by) (?:invalid |authenticating )?user \S+ (?<ip3>${IP}) port \d+ \[preauth\]|error: maximum authentication attempts exceeded for (?:invalid user )?\S+ from (?<ip4>${IP})|pam_unix\(sshd:auth\): authentication failure;.*rhost=(?<ip5>${IP})|Accepted \S+ for \S+ from (?<ok>${IP}))`,
  ),
  read(m) {
    const g = m.groups ?? {};
    if (g.ok) return { kind: 'sshd', direction: 'allowed', weight: 0 };
    const source = endpoint(g.ip ?? g.ip2 ?? g.ip3 ?? g.ip4 ?? g.ip5, g.port);
    if (!source) return undefined;
    return {
      kind: 'sshd',
      source,
      direction: 'inbound',
      category: 'brute-force',
      weight: 1,
      user: g.user ?? g.user2,
      protocol: 'tcp',
    };
  },
};
