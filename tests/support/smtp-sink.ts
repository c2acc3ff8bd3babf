import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { waitFor } from '@bth/testkit';

export interface ReceivedMail {
  from: string | null;
  to: string[];
  /** The raw message as the relay received it (headers and body). */
  raw: string;
}

/**
 * A real SMTP server on a free port that keeps every message it is given: the relay the users
 * service sends its verification codes to in production-mode tests. Plain SMTP on loopback (no
 * STARTTLS offered, no AUTH required), as a relay inside a private network would be.
 */
export async function startSmtpSink() {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        received.push({
          from: from ? from.address : null,
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    /** The six-digit code of the newest verification mail to `email`, waiting for it to arrive. */
    async codeFor(email: string, timeoutMs = 10_000): Promise<string> {
      const to = email.toLowerCase();
      return waitFor(() => {
        const mail = received.filter((m) => m.to.includes(to)).at(-1);
        return mail ? (/verification code is (\d{6})/.exec(mail.raw)?.[1] ?? null) : null;
      }, timeoutMs);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type SmtpSink = Awaited<ReturnType<typeof startSmtpSink>>;
