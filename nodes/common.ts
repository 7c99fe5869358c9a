/**
 * The few pieces every node of the package needs to follow Node-RED's contracts the
 * same way: translated errors and the red status that goes with them, and the flow, global
 * and env values that templates use.
 */
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Node, NodeAPI } from 'node-red';
import type { OutboxLeftovers } from '../lib/email/transport';
import { isMarketingError, printable, truncate } from '../lib/errors';
import type { ContextReference } from '../lib/prompt';
import type { TemplateLookup } from '../lib/template';

/**
 * Turns an error from `lib/` into an Error whose message is translated in the node's
 * catalog (`<namespace>.errors.<code>`), keeping `code` and `params` for Catch nodes.
 * Other errors keep their message, made `printable` (their text may quote input or a
 * server's reply), so that every error a node reports or logs stays on one line.
 */
export function localiseError(RED: NodeAPI, namespace: string, err: unknown): Error {
  if (isMarketingError(err)) {
    // The params are printable already (MarketingError makes them so).
    const localised = new Error(RED._(`${namespace}.errors.${err.code}`, err.params));
    return Object.assign(localised, { code: err.code, params: err.params });
  }
  if (!(err instanceof Error)) return new Error(printable(String(err)));
  const message = printable(err.message);
  if (message === err.message) return err;
  const { code } = err as { code?: unknown };
  return Object.assign(new Error(message, { cause: err }), code === undefined ? {} : { code });
}

/**
 * Warns (`<namespace>.warnings.outboxLeftovers`) about the unfinished files of a crash that an
 * outbox removed when it started, so that the log says what the crash left.
 */
export function warnAboutOutboxLeftovers(RED: NodeAPI, node: Node, namespace: string, leftovers: Promise<OutboxLeftovers>, folder: string): void {
  void leftovers.then(({ empty, unrenamed }) => {
    if (empty + unrenamed > 0) node.warn(RED._(`${namespace}.warnings.outboxLeftovers`, { count: empty + unrenamed, empty, unrenamed, folder: printable(folder) }));
  });
}

/** A numeric setting from the editor (a number, or text such as "2.5"); `fallback` when empty or not a number. */
export function numberOr(value: unknown, fallback: number): number {
  const number = typeof value === 'number' ? value : Number.parseFloat(String(value ?? ''));
  return Number.isFinite(number) ? number : fallback;
}

/**
 * The Node-RED user directory: where the outbox, the send ledger and relative model paths
 * are. Node-RED sets `settings.userDir` at start; when it is unset (an embedding that does
 * not), it is Node-RED's own default, `~/.node-red`.
 */
export function userDirectory(RED: NodeAPI): string {
  const { userDir } = RED.settings as unknown as { userDir?: string };
  return userDir || join(homedir(), '.node-red');
}

/** The red status shown while a node is in error; `text` is already translated. */
export function showError(node: Node, text: string): void {
  node.status({ fill: 'red', shape: 'ring', text: truncate(text, 60) });
}

/**
 * Resolves the `flow.*`, `global.*` and `env.*` names a template uses before it renders,
 * as the core Template node does, so that asynchronous context stores work too. Calls back
 * at once (synchronously) when there is nothing to resolve.
 */
export function resolveTemplateReferences(
  RED: NodeAPI,
  node: Node,
  references: readonly ContextReference[],
  msg: object,
  callback: (err: Error | undefined, lookup: TemplateLookup | undefined) => void,
): void {
  if (references.length === 0) {
    callback(undefined, undefined);
    return;
  }
  const values = new Map<string, unknown>();
  let pending = 1; // released after the loop, so synchronous stores cannot finish early
  let failed = false;
  const settle = (err?: Error) => {
    if (failed) return;
    if (err) {
      failed = true;
      callback(err, undefined);
    } else if (--pending === 0) {
      callback(undefined, (name) => values.get(name));
    }
  };
  for (const reference of references) {
    if (reference.scope === 'env') {
      values.set(reference.name, RED.util.evaluateNodeProperty(reference.key, 'env', node, msg as never));
      continue;
    }
    pending++;
    node.context()[reference.scope].get(reference.key, reference.store as string, (err: Error | undefined, value: unknown) => {
      if (!err) values.set(reference.name, value);
      settle(err);
    });
  }
  settle();
}

/** The environment variable with the folder where example 01 writes the copy held for review. */
export const REVIEW_FOLDER_VARIABLE = 'MARKETING_REVIEW_FOLDER';

/**
 * Points `MARKETING_REVIEW_FOLDER` at `review/` in Node-RED's user directory, unless it is set
 * already: as for the sample list, a relative path in a File node would start at Node-RED's
 * working directory, which a flow cannot know.
 */
export function offerReviewFolder(RED: NodeAPI): void {
  process.env[REVIEW_FOLDER_VARIABLE] ||= join(userDirectory(RED), 'review');
}

/** The environment variable with the folder example 05 watches for bounce messages. */
export const BOUNCE_FOLDER_VARIABLE = 'MARKETING_BOUNCE_FOLDER';

/**
 * Points `MARKETING_BOUNCE_FOLDER` at `bounces/` in Node-RED's user directory, unless it is
 * set already, and makes sure the folder exists: example 05's Watch node reports the files
 * that appear in it, and a Watch node on a missing folder reports nothing at all.
 */
export function offerBounceFolder(RED: NodeAPI): void {
  process.env[BOUNCE_FOLDER_VARIABLE] ||= join(userDirectory(RED), 'bounces');
  try {
    mkdirSync(process.env[BOUNCE_FOLDER_VARIABLE], { recursive: true });
  } catch {
    // A read-only user directory: the Watch node then reports the missing folder itself, in the editor.
  }
}

/** The environment variable example 01's File-in node reads the contact list's path from. */
export const SAMPLE_CONTACTS_VARIABLE = 'MARKETING_SAMPLE_CONTACTS';

/**
 * Points `MARKETING_SAMPLE_CONTACTS` at the sample list shipped in `examples/`, unless it is
 * set already. A flow cannot know where the palette manager installed the package (a relative
 * path in a File-in node starts at Node-RED's working directory, not its user directory),
 * so the package tells it, the way Node-RED's own settings reach flows: through `env`.
 */
export function offerSampleContacts(): void {
  process.env[SAMPLE_CONTACTS_VARIABLE] ||= join(resolve(__dirname, '..', '..'), 'examples', 'sample-contacts.csv');
}
