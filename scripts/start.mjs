// `npm start`: Node-RED (the project's own dev dependency) on 127.0.0.1 with this package
// installed in a user dir inside the project (.node-red/, git-ignored), example 01 deployed on
// first start, and its campaign run once at every start: the sample contact list goes through
// the bundled demo model into the file outbox, and Node-RED's log prints the summary line.
// A second start runs the campaign again and the send ledger sends nothing twice.
//
// PORT (default 1880) and NODE_RED_USER_DIR (default .node-red/) move it, e.g. for tests.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const userDir = resolve(process.env.NODE_RED_USER_DIR || join(root, '.node-red'));
const port = process.env.PORT || '1880';
const EXAMPLE = join(root, 'examples', '01 - Campaign from a contact list.json');

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

// Example 01 is deployed when there is nothing to lose: no flows file (a fresh clone, or a
// user dir from a start that never deployed) or one without nodes.
const flowFile = join(userDir, 'flows.json');
const example = JSON.parse(readFileSync(EXAMPLE, 'utf8'));
if (!existsSync(flowFile) || isEmptyFlows(readFileSync(flowFile, 'utf8'))) {
  writeFileSync(flowFile, JSON.stringify(example, null, 4));
  console.log(`npm start: example 01 deployed into ${flowFile}`);
}

const red = createRequire(import.meta.url).resolve('node-red/red.js');
const child = spawn(process.execPath, [red, '--userDir', userDir, '--settings', settings, '--port', port], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));

const campaignButton = deployedCampaignButton();
if (campaignButton) void runCampaign(campaignButton);

function isEmptyFlows(text) {
  try {
    const flows = JSON.parse(text);
    return Array.isArray(flows) && flows.length === 0;
  } catch {
    return false;
  }
}

/** The example's "sample contact list" Inject node, when the deployed flows still have it. */
function deployedCampaignButton() {
  const fileIn = example.find((node) => node.type === 'file in');
  const inject = example.find((node) => node.type === 'inject' && node.wires[0].includes(fileIn?.id));
  let deployed;
  try {
    deployed = JSON.parse(readFileSync(flowFile, 'utf8'));
  } catch {
    return undefined;
  }
  return Array.isArray(deployed) && deployed.some((node) => node.id === inject?.id && node.type === 'inject') ? inject.id : undefined;
}

/** Clicks the button the way the editor does (POST /inject/:id) once the flows have started. */
async function runCampaign(id) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/inject/${id}`, { method: 'POST' });
      if (response.ok) {
        console.log('npm start: running the example campaign on the sample contact list; the summary follows when it is done');
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
}
