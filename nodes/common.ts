/**
 * The few pieces every node of the package needs to follow Node-RED's contracts the
 * same way: translated errors and the red status that goes with them.
 */
import type { Node, NodeAPI } from 'node-red';
import { isMarketingError } from '../lib/errors';

/**
 * Turns an error from `lib/` into an Error whose message is translated in the node's
 * catalog (`<namespace>.errors.<code>`), keeping `code` and `params` for Catch nodes.
 * Other errors pass through unchanged.
 */
export function localiseError(RED: NodeAPI, namespace: string, err: unknown): Error {
  if (isMarketingError(err)) {
    const localised = new Error(RED._(`${namespace}.errors.${err.code}`, err.params));
    return Object.assign(localised, { code: err.code, params: err.params });
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The red status shown while a node is in error; `text` is already translated. */
export function showError(node: Node, text: string): void {
  node.status({ fill: 'red', shape: 'ring', text: text.length > 60 ? `${text.slice(0, 57)}...` : text });
}
