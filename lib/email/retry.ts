/**
 * What to do when a delivery attempt fails: whether the failure is worth another attempt
 * (the server or the network may recover) or final (the server refused this message, the
 * credentials or the TLS setup are wrong), and how long to wait before the next attempt.
 */
import { backoffDelay, type Backoff } from '../backoff';
import { MarketingError, truncate } from '../errors';
import { isTlsErrorCode } from '../network';

export interface RetryPolicy extends Backoff {
  /** Attempts in all, the first one included (1 = never retry). */
  maxAttempts: number;
  /** No attempt starts later than this after the first one. */
  maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  maxElapsedMs: 10 * 60 * 1000,
  baseDelayMs: 2000,
  maxDelayMs: 60 * 1000,
};

export interface DeliveryFailure {
  /** Worth another attempt later. */
  transient: boolean;
  /** The connection failed: the server may be down (what the circuit breaker counts). */
  connection?: boolean;
  /**
   * The message's final `.` was written and no reply came: the server may have stored it.
   * Sending it again may deliver it twice, so only the "resend" setting does.
   */
  unknownOutcome?: boolean;
  /** A MarketingError naming the failure for the user (`send-email.errors.<code>`). */
  error: MarketingError;
}

/** Errors that say the connection broke or never came up, not that the message was refused. */
const CONNECTION_CODES = new Set([
  'ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH',
  'ENETUNREACH', 'EAI_AGAIN',
]);

/** TLS failures are configuration problems (wrong security mode, untrusted certificate). */
function isTlsFailure(err: NodeMailerLikeError): boolean {
  if (err.code === 'ETLS' || err.library !== undefined) return true;
  return isTlsErrorCode(err.originalCode ?? '');
}

interface NodeMailerLikeError {
  code?: string;
  originalCode?: string;
  library?: string;
  responseCode?: number;
  response?: string;
  message?: string;
  /** Set by the SMTP pool when the failure came after the message's final `.`. */
  endOfDataSent?: boolean;
  /** Set by the SMTP pool when no session could be set up (no reply from the server). */
  connectFailed?: boolean;
}

function firstLine(text: string): string {
  return truncate(text.split(/\r?\n/, 1)[0], 300);
}

/**
 * Classifies a failed attempt. RFC 5321 makes every 4yz reply transient and every 5yz
 * reply permanent (503, "bad sequence of commands", says the session was in the wrong
 * state, not that the message was refused, so it goes to a fresh connection like a 4yz).
 */
export function classifyDeliveryError(raw: unknown): DeliveryFailure {
  const err: NodeMailerLikeError = typeof raw === 'object' && raw !== null ? raw : { message: String(raw) };
  const response = firstLine(err.response ?? err.message ?? '');
  const code = err.responseCode;
  const transientReply = typeof code === 'number' && ((code >= 400 && code < 500) || code === 503);
  if (err.endOfDataSent && typeof code !== 'number') {
    return {
      transient: true,
      unknownOutcome: true,
      error: new MarketingError('unknownOutcome', `No reply to the end of the message (${response}): the server may have accepted it`, { response }),
    };
  }
  if ((err.code === 'EAUTH' || err.code === 'ENOAUTH') && !transientReply) {
    return { transient: false, error: new MarketingError('authFailed', `SMTP authentication failed: ${response}`, { response }) };
  }
  if (typeof code === 'number' && code >= 400 && code < 600) {
    if (!transientReply) {
      return { transient: false, error: new MarketingError('rejected', `The server refused the message: ${response}`, { response }) };
    }
    return { transient: true, error: new MarketingError('deferred', `The server deferred the message: ${response}`, { response }) };
  }
  if (isTlsFailure(err)) {
    return { transient: false, error: new MarketingError('tlsFailed', `TLS failed: ${response}`, { response }) };
  }
  if (err.code !== undefined && CONNECTION_CODES.has(err.code)) {
    return { transient: true, connection: err.connectFailed === true, error: new MarketingError('connection', `SMTP connection failed: ${response}`, { response }) };
  }
  return { transient: false, error: new MarketingError('deliveryError', `Delivery failed: ${response}`, { response }) };
}

/**
 * The wait before attempt number `nextAttempt` (2 for the first retry), or undefined when
 * the policy says to give up.
 */
export function retryDelay(
  policy: RetryPolicy,
  nextAttempt: number,
  elapsedMs: number,
  random: () => number = Math.random,
): number | undefined {
  if (nextAttempt > policy.maxAttempts) return undefined;
  const delay = Math.round(backoffDelay(policy, nextAttempt - 1, random));
  return elapsedMs + delay > policy.maxElapsedMs ? undefined : delay;
}
