/**
 * What a send-email node needs from a `marketing-smtp` config node, and where the file
 * outbox is when no config node is chosen (the embedded default).
 */
import { isAbsolute, join } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import type { TokenSecrets } from '../../lib/consent/token';
import type { MailTransport } from '../../lib/email/transport';
import { userDirectory } from '../common';

export interface TransportProvider {
  /** The shared transport, or the error that makes this configuration unusable. */
  readonly transport: MailTransport | Error;
  /** For reports and status: `smtp://host:port` or the outbox folder. */
  readonly describe: string;
  /**
   * The secrets of signed unsubscribe tokens (credentials of the config node), the error
   * that makes them unusable, or undefined when no secret is set.
   */
  readonly unsubscribeSecrets: TokenSecrets | Error | undefined;
}

export interface SmtpCredentials {
  user?: string;
  password?: string;
  /** Signs the unsubscribe tokens of every send-email node using this configuration. */
  unsubscribeSecret?: string;
  /** The secret before the last rotation, accepted for the grace period. */
  previousUnsubscribeSecret?: string;
}

export type SmtpConfigNode = Node<SmtpCredentials> & TransportProvider;

/** `outbox/` in the user directory unless configured (relative paths are in the user directory). */
export function outboxFolder(RED: NodeAPI, configured: string | undefined): string {
  const folder = (configured ?? '').trim() || 'outbox';
  return isAbsolute(folder) ? folder : join(userDirectory(RED), folder);
}
