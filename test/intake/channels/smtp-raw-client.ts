import { connect, type Socket } from 'node:net';

/**
 * A deliberately dumb SMTP client for the tests that must say what a library never would (malformed
 * commands, oversize DATA without SIZE, a null sender, many connections). One reply per `command`.
 */
export class RawSmtpClient {
  private buffer = '';
  private waiters: ((reply: string) => void)[] = [];
  private replies: string[] = [];
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (;;) {
        // A complete reply ends with a line "NNN text" (a "NNN-" line continues it).
        const match = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.buffer);
        if (!match) break;
        const end = match.index + match[0].length;
        const reply = this.buffer.slice(0, end).replace(/^\r\n/, '');
        this.buffer = this.buffer.slice(end);
        const waiter = this.waiters.shift();
        if (waiter) waiter(reply);
        else this.replies.push(reply);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w('(closed)');
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<{ client: RawSmtpClient; greeting: string }> {
    const socket = connect(port, '127.0.0.1');
    const client = new RawSmtpClient(socket);
    const greeting = await client.reply();
    return { client, greeting };
  }

  reply(): Promise<string> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.closed) return Promise.resolve('(closed)');
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async command(line: string): Promise<string> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Reply code of a reply ("250 ok" → 250). */
export function codeOf(reply: string): number {
  const lines = reply.trim().split('\r\n');
  return Number(lines[lines.length - 1]!.slice(0, 3));
}
