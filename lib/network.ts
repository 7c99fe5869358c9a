/**
 * Facts about network peers that more than one client of the package needs.
 */
import { isIPv4 } from 'node:net';

/**
 * Whether a host name is this machine's loopback interface: traffic to it never leaves the
 * machine, so a secret sent to it in clear crosses no network. Accepts host names as users
 * type them (`::1`) and as URLs give them (`[::1]`).
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const ipv4 = name.startsWith('::ffff:') ? name.slice('::ffff:'.length) : name;
  return isIPv4(ipv4) && ipv4.startsWith('127.');
}

/**
 * Whether an error code (Node's, OpenSSL's) says the TLS handshake failed or the peer's
 * certificate is untrusted, expired or for another name: a setup problem that trying again
 * does not fix.
 */
export function isTlsErrorCode(code: string): boolean {
  return /^(ERR_SSL_|ERR_TLS_)|CERT|SELF_SIGNED|UNABLE_TO_|SIGNATURE|^EPROTO$/.test(code);
}
