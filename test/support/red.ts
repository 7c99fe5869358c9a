/**
 * node-red-node-test-helper bound to the project's own Node-RED runtime, and the few waits
 * the send-email tests need around it.
 */
import helper from 'node-red-node-test-helper';
import type { NodeMessage } from 'node-red';

export type TestFlow = Array<Record<string, unknown>>;

helper.init(require.resolve('node-red'));
export { helper };

export function startServer(): Promise<void> {
  return helper.startServer();
}

export function stopServer(): Promise<void> {
  return helper.stopServer();
}

/** The messages a helper node receives from now on. */
export function collect(id: string): NodeMessage[] {
  const received: NodeMessage[] = [];
  helper.getNode(id).on('input', (msg: NodeMessage) => received.push(msg));
  return received;
}

/** Waits until `condition` holds, checking every few milliseconds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
