/**
 * Runs as a child process of the editor tests: a real Node-RED with this package installed
 * the way `npm install` in a user dir does it (a link in its node_modules), the editor on
 * 127.0.0.1 at a free port, reported to the parent over IPC. Ends when the parent disconnects.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import RED from 'node-red';

const packageRoot = resolve(__dirname, '..', '..', '..');
const userDir = mkdtempSync(join(tmpdir(), 'marketing-editor-'));
const link = join(userDir, 'node_modules', '@smart-marketing', 'node-red-marketing-automation');
mkdirSync(dirname(link), { recursive: true });
symlinkSync(packageRoot, link, 'dir');

const server = createServer((req, res) => RED.httpAdmin(req, res));
RED.init(server, {
  userDir,
  flowFile: 'flows.json',
  uiHost: '127.0.0.1',
  uiPort: 0,
  httpAdminRoot: '/',
  httpNodeRoot: false,
  logging: { console: { level: 'warn' } },
  editorTheme: { tours: false },
  telemetry: { enabled: false, updateNotification: false },
} as unknown as Parameters<typeof RED.init>[1]);

async function stop(): Promise<void> {
  await RED.stop();
  server.close();
  rmSync(userDir, { recursive: true, force: true });
  process.exit(0);
}

RED.start().then(() => {
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}, (err: Error) => {
  console.error(err);
  process.exit(1);
});
process.on('disconnect', () => void stop());
