import type { NodeMessageInFlow } from 'node-red';
import helper from 'node-red-node-test-helper';

/** The messages that reach node `id` (a helper node in the test flow) from now on. */
export function collect<T>(id: string): T[] {
  const received: T[] = [];
  helper.getNode(id).on('input', (msg: NodeMessageInFlow) => received.push(msg as unknown as T));
  return received;
}
