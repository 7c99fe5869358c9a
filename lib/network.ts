/**
 * Whether a host name is this machine's loopback interface: traffic to it never leaves the
 * machine, so a secret sent to it in clear crosses no network. Accepts host names as users
 * type them (`::1`) and as URLs give them (`[::1]`).
 */
import { isIPv4 } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const name = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  const ipv4 = name.startsWith('::ffff:') ? name.slice('::ffff:'.length) : name;
  return isIPv4(ipv4) && ipv4.startsWith('127.');
}
