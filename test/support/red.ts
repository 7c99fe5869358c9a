/**
 * node-red-node-test-helper (which ships no types) with the few calls the tests use, bound
 * to the project's own Node-RED runtime.
 */
import type { Node, NodeMessage } from 'node-red';

export type TestFlow = Array<Record<string, unknown>>;

export interface TestNodeRed {
  init(runtimePath: string): void;
  settings(settings: Record<string, unknown>): Record<string, unknown>;
  load(nodes: unknown[], flow: TestFlow, credentials?: Record<string, unknown>): Promise<void>;
  /** A redeploy through the runtime: the running nodes are closed, the new ones started. */
  setFlows(flow: TestFlow, type: 'full' | 'flows' | 'nodes', credentials?: Record<string, unknown>): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): Node | null;
  startServer(done: (err?: Error) => void): void;
  stopServer(done: (err?: Error) => void): void;
  log(): { args: unknown[][] };
  _redNodes: { getCredentialDefinition(type: string): unknown };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper') as TestNodeRed;
helper.init(require.resolve('node-red'));

export function startServer(): Promise<void> {
  return new Promise((resolve, reject) => helper.startServer((err) => (err ? reject(err) : resolve())));
}

export function stopServer(): Promise<void> {
  return new Promise((resolve, reject) => helper.stopServer((err) => (err ? reject(err) : resolve())));
}

/** The messages a helper node received, as they arrive. */
export function collect(id: string): NodeMessage[] {
  const received: NodeMessage[] = [];
  const node = helper.getNode(id);
  if (!node) throw new Error(`no node ${id}`);
  node.on('input', (msg: NodeMessage) => received.push(msg));
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
