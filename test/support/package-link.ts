/**
 * This package installed in a Node-RED user directory the way `npm install <path>` does it:
 * a link at <userDir>/node_modules/<package name> to the project, so Node-RED loads the
 * compiled nodes, locales, icons and examples exactly as a user's install would.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The project root: dist/test/support/ -> the project. */
export const PACKAGE_ROOT = resolve(__dirname, '..', '..', '..');

export const PACKAGE_NAME = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { name: string }).name;

/** Links the package into `userDir`'s node_modules (once; a second call finds the link). */
export function installPackageLink(userDir: string): void {
  const link = join(userDir, 'node_modules', ...PACKAGE_NAME.split('/'));
  if (existsSync(link)) return;
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(PACKAGE_ROOT, link, 'dir');
}
