import { describe, expect, it } from 'vitest';
import { classifyComplaint, TRIAGE_CONFIDENCE } from './complaint-classifier.js';

/** What people write, in English, German and Spanish, and the class the desk should see. */
describe('complaint classifier', () => {
  it.each([
    ['I received spam from 198.51.100.7', 'abusive-content/spam'],
    ['your server is distributing malware (a banking trojan)', 'malicious-code/malware-distribution'],
    ['open mail relay at 198.51.100.25', 'vulnerable/vulnerable-system'],
    ['your customer runs an open DNS resolver', 'vulnerable/vulnerable-system'],
    ['198.51.100.8:3128 is an open proxy', 'vulnerable/vulnerable-system'],
    ['SUBPOENA TO PRODUCE DOCUMENTS. YOU ARE COMMANDED to produce subscriber information', 'other/other'],
    ['Orden judicial: facilite los datos del titular de la dirección IP', 'other/other'],
    ['child sexual abuse material is hosted there', 'abusive-content/violence'],
    ['death threats against me and my family', 'abusive-content/harmful-speech'],
    ['Belästigung und Drohungen auf Ihrer Seite', 'abusive-content/harmful-speech'],
    ['this infringes our copyright, DMCA notice', 'fraud/copyright'],
    ['a fake login page of our bank, phishing', 'fraud/phishing'],
    ['página falsa que suplanta a nuestro banco', 'fraud/phishing'],
    ['brute force attack against our SSH', 'intrusion-attempts/brute-force'],
    ['ataque de fuerza bruta', 'intrusion-attempts/brute-force'],
    ['SQL injection attempts against our shop', 'intrusion-attempts/exploit'],
    ['a botnet command-and-control (C2) server', 'malicious-code/c2-server'],
    ['STOP THE PORT SCANS', 'information-gathering/scanner'],
    ['Portscan auf unser Netz', 'information-gathering/scanner'],
    ['We are under a DDoS attack, 12 Gbps UDP flood', 'availability/ddos'],
    ['DDoS-Angriff (SYN-Flood)', 'availability/ddos'],
    ['unerwünschte Werbe-E-Mails', 'abusive-content/spam'],
    ['Recibo correo basura todos los días', 'abusive-content/spam'],
  ])('%s → %s, sure enough for a case', (text, expected) => {
    const c = classifyComplaint(text);
    expect(c.eventClass).toBe(expected);
    expect(c.confidence).toBeGreaterThanOrEqual(TRIAGE_CONFIDENCE);
  });

  it('does not take the Spanish word "dos" (two) for a denial of service', () => {
    expect(classifyComplaint('desde hace dos días').eventClass).toBe('other/undetermined');
  });

  it('lets pasted evidence decide when the words do not', () => {
    const c = classifyComplaint('see below', { 'open-relay': { lines: 1, weight: 3 } });
    expect(c.eventClass).toBe('vulnerable/vulnerable-system');
    expect(c.category).toBe('open-relay');
  });
});
