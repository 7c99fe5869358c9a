// `npm start`: Node-RED (the project's own dev dependency) on 127.0.0.1:1880 with this
// package installed in a user dir inside the project (.node-red/, git-ignored).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const userDir = join(root, '.node-red');
const port = process.env.PORT || '1880';

// Installed the way `npm install <folder>` does it: a link in the user dir's node_modules,
// so a rebuild (`npm run build`) is picked up at the next start.
const link = join(userDir, 'node_modules', '@smart-marketing', 'node-red-marketing-automation');
if (!existsSync(link)) {
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), root), link, 'dir');
}

const settings = join(userDir, 'settings.js');
if (!existsSync(settings)) {
  writeFileSync(settings, `module.exports = {
    uiHost: '127.0.0.1',
    flowFile: 'flows.json',
    logging: { console: { level: 'info' } },
};
`);
}

const red = createRequire(import.meta.url).resolve('node-red/red.js');
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', settings, '--port', port], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
