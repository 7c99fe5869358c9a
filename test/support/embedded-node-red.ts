/**
 * The real Node-RED runtime embedded in a process of its own (`RED.init` + `RED.start`, no
 * editor), with this package installed in its user directory the way `npm install` does it
 * (a link in `<userDir>/node_modules`). A process can start Node-RED once: tests and the
 * benchmark fork a child per start, which is also what makes a crash (SIGKILL) real.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installPackageLink } from './package-link';

export { PACKAGE_ROOT } from './package-link';

export interface EmbeddedNodeRed {
  init(settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  nodes: { getNode(id: string): { receive(msg: Record<string, unknown>): void } | null };
  hooks: { add(name: string, hook: (event: never) => void): void };
}

/** Starts Node-RED on `flow` in `userDir` and waits until the node `readyNodeId` runs. */
export async function startEmbeddedNodeRed(
  userDir: string,
  flow: Array<Record<string, unknown>>,
  readyNodeId: string,
  consoleLevel = 'error',
): Promise<EmbeddedNodeRed> {
  installPackageLink(userDir);
  writeFileSync(join(userDir, 'flows.json'), JSON.stringify(flow));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const RED = require('node-red') as EmbeddedNodeRed;
  RED.init({
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: false,
    httpNodeRoot: false,
    credentialSecret: false,
    logging: { console: { level: consoleLevel } },
    editorTheme: { tours: false },
  });
  await RED.start();
  const deadline = Date.now() + 20_000;
  while (!RED.nodes.getNode(readyNodeId)) {
    if (Date.now() > deadline) throw new Error(`node ${readyNodeId} did not start`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  }
  return RED;
}
