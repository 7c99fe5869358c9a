/**
 * A real SMTP server (the `smtp-server` package) on loopback for the email tests, with
 * hooks to misbehave the way real servers do (defer, refuse, stall, drop the connection),
 * and bookkeeping of what it accepted, so tests can check that every address was received
 * exactly once.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export interface AcceptedMail {
  from: string;
  to: string[];
  raw: Buffer;
  /** Whether the session was encrypted (implicit TLS or STARTTLS). */
  secure: boolean;
}

/** A reply to a command: `undefined` to accept, a code and text to refuse, or misbehaviour. */
export type Reply = undefined | { code: number; message: string } | 'drop' | { stallMs: number };

export interface Behaviour {
  /** Called for each connection before the greeting (counted from 1). */
  onConnect?(connection: number): Reply;
  /** Called for each RCPT TO, with how many times this address was offered so far (from 1). */
  onRcpt?(address: string, offer: number): Reply;
  /** Called at the end of DATA, or with `midData` on the first chunk of the message. */
  onData?(to: string[], offer: number, stage: 'midData' | 'end'): Reply;
}

export interface TestSmtpOptions {
  port?: number;
  /** Implicit TLS (`secure`) or STARTTLS offered, both with `tls` as the certificate. */
  secure?: boolean;
  starttls?: boolean;
  tls?: { key: Buffer; cert: Buffer };
  /** Required credentials; AUTH is not offered without them. */
  auth?: { user: string; pass: string };
  /** SASL mechanisms offered (default PLAIN and LOGIN). */
  authMethods?: string[];
  behaviour?: Behaviour;
}

export interface TestSmtpServer {
  port: number;
  accepted: AcceptedMail[];
  authFailures: number;
  /** Successful logins by method (PLAIN, LOGIN). */
  logins: string[];
  /** Connections accepted so far, and those open now. */
  connectionCount: number;
  openConnections(): number;
  /** Times each recipient was accepted. */
  receivedCount(address: string): number;
  waitForAccepted(count: number, timeoutMs?: number): Promise<void>;
  parse(index: number): Promise<ParsedMail>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startTestSmtpServer(options: TestSmtpOptions = {}): Promise<TestSmtpServer> {
  const accepted: AcceptedMail[] = [];
  const counts = new Map<string, number>();
  const rcptOffers = new Map<string, number>();
  const dataOffers = new Map<string, number>();
  const waiters: Array<() => void> = [];
  const logins: string[] = [];
  let authFailures = 0;
  let connections = 0;
  const behaviour = options.behaviour ?? {};

  const dropSession = (session: SMTPServerSession) => {
    for (const connection of server.connections) {
      if (connection.id === session.id) connection._socket.destroy();
    }
  };
  /** Applies a reply; returns true if the command was handled (refused, dropped or stalled). */
  const apply = (reply: Reply, session: SMTPServerSession, callback: (err?: Error | null) => void, proceed: () => void) => {
    if (reply === undefined) return proceed();
    if (reply === 'drop') return dropSession(session);
    if ('stallMs' in reply) return void setTimeout(proceed, reply.stallMs);
    return callback(smtpError(reply.code, reply.message));
  };

  const serverOptions: SMTPServerOptions = {
    logger: false,
    disableReverseLookup: true,
    secure: options.secure ?? false,
    hideSTARTTLS: !options.starttls,
    disabledCommands: options.auth ? [] : ['AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    closeTimeout: 50,
    size: 50 * 1024 * 1024,
    ...(options.tls ?? {}),
    onConnect(_session, callback) {
      connections++;
      apply(behaviour.onConnect?.(connections), _session, callback, () => callback());
    },
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass) {
        logins.push(auth.method);
        return callback(null, { user: auth.username });
      }
      authFailures++;
      return callback(smtpError(535, 'Authentication credentials invalid'));
    },
    onRcptTo(address, session, callback) {
      const to = address.address.toLowerCase();
      const offer = (rcptOffers.get(to) ?? 0) + 1;
      rcptOffers.set(to, offer);
      apply(behaviour.onRcpt?.(to, offer), session, callback, () => callback());
    },
    onData(stream, session, callback) {
      const to = session.envelope.rcptTo.map((address) => address.address.toLowerCase());
      const key = to.join(',');
      const offer = (dataOffers.get(key) ?? 0) + 1;
      dataOffers.set(key, offer);
      const chunks: Buffer[] = [];
      let first = true;
      let dropped = false;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (first) {
          first = false;
          if (behaviour.onData?.(to, offer, 'midData') === 'drop') {
            dropped = true;
            dropSession(session);
          }
        }
      });
      stream.on('end', () => {
        if (dropped) return;
        const accept = () => {
          accepted.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to,
            raw: Buffer.concat(chunks),
            secure: session.secure,
          });
          for (const address of to) counts.set(address, (counts.get(address) ?? 0) + 1);
          for (const waiter of waiters.splice(0)) waiter();
          callback(null, `queued as ${accepted.length}`);
        };
        apply(behaviour.onData?.(to, offer, 'end'), session, callback, accept);
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined); // clients that drop connections on purpose are expected
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as { port: number };

  return {
    port,
    accepted,
    get authFailures() {
      return authFailures;
    },
    logins,
    get connectionCount() {
      return connections;
    },
    openConnections: () => server.connections.size,
    receivedCount: (address) => counts.get(address.toLowerCase()) ?? 0,
    async waitForAccepted(count, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (accepted.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${accepted.length} of ${count} messages arrived`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    parse: (index) => simpleParser(accepted[index].raw),
    close: () => new Promise<void>((resolve) => {
      for (const connection of server.connections) connection._socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI. */
export function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'marketing-tls-'));
  try {
    execFileSync('/usr/bin/openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
