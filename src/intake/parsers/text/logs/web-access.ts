import type { ComplaintCategory } from '../complaint-classifier.js';
import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Apache and nginx access logs in the common/combined formats (`%h %l %u %t "%r" %>s %b "%{Referer}i"
 * "%{User-agent}i"`, nginx's default `combined`), optionally behind a virtual-host column (`vhost_combined`:
 * `%v:%p %h …`). `%h` is the client: the source of the request. The target is the reporter's site, which the
 * line does not name. A request is evidence by what it asked for: a POST to a login form is password guessing,
 * an injection or traversal is an exploit attempt, a probe for well-known admin paths is a scan, an ordinary
 * page view is nothing.
 */
const EXPLOIT_PATH =
  /union(?:%20|\+|\s)+(?:all(?:%20|\+|\s)+)?select|(?:%27|')(?:%20|\+|\s)*or(?:%20|\+|\s)+\d+=\d+|\.\.(?:\/|%2f){2,}|\/etc\/passwd|\$\{jndi:|%24%7Bjndi|<script|%3Cscript|\/cgi-bin\/.*(?:;|%3B)|\bcmd=|\/shell\?|wget(?:%20|\+)http|\bexec\(|allow_url_include/i;
const EXPLOIT_AGENT = /sqlmap|havij|commix|jndi:/i;
const SUSPICIOUS_PATH =
  /(?:\/\.env|\/\.git\/|phpmyadmin|\/cgi-bin\/|\/wp-admin\/(?:setup-config|install)|\/boaform|\/HNAP1|\/vendor\/phpunit|\/actuator|\/solr\/|\/console|\/manager\/html|\/\.aws|\/config\.(?:php|json)|\/admin\.php|\/xmlrpc\.php\?|\/owa\/auth|\/autodiscover|\/remote\/login)/i;
const SCAN_AGENT = /zgrab|masscan|nmap|nikto|l9explore|nuclei|dirbuster|gobuster|wpscan/i;
const LOGIN_PATH = /\/(?:wp-login\.php|xmlrpc\.php|user\/login|administrator\/index\.php|login)\b/i;

export const webAccessRecogniser: LogRecogniser = {
  kind: 'access-log',
  pattern: new RegExp(
    String.raw`^(?:[\w.-]+:\d+\s+)?(?<ip>${IP}) \S+ \S+ \[[^\]]+\] "(?<method>[A-Z]+) (?<path>\S*)[^"]*" (?<status>\d{3}) \S+(?: "[^"]*" "(?<agent>[^"]*)")?`,
  ),
  read(m) {
    const source = endpoint(m.groups?.ip);
    if (!source) return undefined;
    return {
      kind: 'access-log',
      source,
      direction: 'inbound',
      category: requestCategory(m.groups?.method ?? '', m.groups?.path ?? '', m.groups?.agent ?? ''),
      weight: 0.5,
      protocol: 'tcp',
    };
  },
};

function requestCategory(method: string, path: string, agent: string): ComplaintCategory | undefined {
  if (EXPLOIT_PATH.test(path) || EXPLOIT_AGENT.test(agent)) return 'exploit';
  if (method === 'POST' && LOGIN_PATH.test(path)) return 'brute-force';
  if (SUSPICIOUS_PATH.test(path) || SCAN_AGENT.test(agent)) return 'scanning';
  return undefined; // an ordinary request is not evidence of anything by itself
}
