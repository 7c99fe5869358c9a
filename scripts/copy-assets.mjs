// Completes `tsc`'s output into a loadable Node-RED module: Node-RED reads each node's
// editor .html and locales/ beside its runtime .js, and its icons from an icons/ folder
// beside it too, so they are copied next to the compiled files under dist/nodes/<node>/.
import { cpSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const nodesDir = join(root, 'nodes');
const iconsDir = join(root, 'icons');

for (const name of readdirSync(nodesDir)) {
  const source = join(nodesDir, name);
  if (!statSync(source).isDirectory()) continue;
  const target = join(root, 'dist', 'nodes', name);
  for (const entry of readdirSync(source)) {
    if (entry.endsWith('.html') || entry === 'locales') {
      cpSync(join(source, entry), join(target, entry), { recursive: true });
    }
  }
  if (existsSync(iconsDir)) cpSync(iconsDir, join(target, 'icons'), { recursive: true });
}
