/**
 * What a user gets from the palette manager: the published tarball installed into a fresh
 * Node-RED user dir with the palette manager's own npm arguments, then a real Node-RED
 * process, on Node-RED 4 (this machine's Node.js 20) and on Node-RED 5 (Node.js 22 from
 * the npm package `node`, pinned in test/install/node-red-5).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getJson, RunningNodeRed, startNodeRed } from '../support/node-red-process';

const root = resolve(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeTypes: string[] = Object.keys(pkg['node-red'].nodes);
const exampleNames = readdirSync(join(root, 'examples'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => file.replace(/\.json$/, ''));

// @node-red/registry's installer runs `npm install` with exactly these arguments.
const PALETTE_MANAGER_NPM_ARGS = ['--no-audit', '--no-update-notifier', '--no-fund', '--save', '--save-prefix=~', '--omit=dev', '--engine-strict'];

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

type FlowNode = Record<string, unknown> & { id: string; type: string };

interface NodeSetInfo { id: string; module: string; types: string[]; enabled: boolean; err?: string }

describe('palette install of the packed tarball', function () {
  this.timeout(300000);
  let workDir: string;
  let tarball: string;
  let packedFiles: string[];

  before(function () {
    workDir = mkdtempSync(join(tmpdir(), 'marketing-install-'));
    // `npm test` has just built dist/; the tarball is what `npm publish` would upload.
    const [packed] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', workDir], root));
    tarball = join(workDir, packed.filename);
    packedFiles = packed.files.map((file: { path: string }) => file.path);
  });

  after(function () {
    rmSync(workDir, { recursive: true, force: true });
  });

  it('packs the compiled nodes, their editor files, locales and icons, and nothing of the tests', function () {
    for (const type of nodeTypes) {
      const runtimeFile = pkg['node-red'].nodes[type] as string;
      assert.ok(packedFiles.includes(runtimeFile), `${runtimeFile} packed`);
      const dir = runtimeFile.replace(/\/[^/]+\.js$/, '');
      const base = runtimeFile.replace(/^.*\/([^/]+)\.js$/, '$1');
      for (const file of [`${base}.html`, `locales/en-US/${base}.json`, `locales/zh-CN/${base}.json`,
        `locales/en-US/${base}.html`, `locales/zh-CN/${base}.html`]) {
        assert.ok(packedFiles.includes(`${dir}/${file}`), `${dir}/${file} packed`);
      }
      assert.ok(packedFiles.some((file) => file.startsWith(`${dir}/icons/`)), `icons beside ${runtimeFile}`);
    }
    for (const name of exampleNames) assert.ok(packedFiles.includes(`examples/${name}.json`), `example ${name} packed`);
    const leaked = packedFiles.filter((file) => /^(dist\/)?(test|bench|tools|scripts)\//.test(file) || file.endsWith('.ts'));
    assert.deepEqual(leaked, []);
  });

  const runtimes = [
    {
      name: 'Node-RED 4 on this machine\'s Node.js 20',
      nodeMajor: 20,
      prepare: () => ({ redJs: require.resolve('node-red/red.js'), nodeBinary: process.execPath }),
    },
    {
      name: 'Node-RED 5 on Node.js 22',
      nodeMajor: 22,
      prepare: () => {
        const dir = join(root, 'test', 'install', 'node-red-5');
        npm(['ci', '--no-audit', '--no-fund', '--prefer-offline'], dir);
        return { redJs: join(dir, 'node_modules', 'node-red', 'red.js'), nodeBinary: join(dir, 'node_modules', 'node', 'bin', 'node') };
      },
    },
  ];

  for (const runtime of runtimes) {
    describe(runtime.name, function () {
      let red: RunningNodeRed;
      let installedPackage: string;

      before(async function () {
        const { redJs, nodeBinary } = runtime.prepare();
        const userDir = join(workDir, runtime.name.replace(/\W+/g, '-'));
        const version = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim();
        assert.match(version, new RegExp(`^v${runtime.nodeMajor}\\.`), `${nodeBinary} is Node.js ${runtime.nodeMajor}`);
        // The user dir Node-RED creates on first start, then the palette manager's install.
        // One addition, the offline-install recipe of the README: @xenova/transformers 2.17
        // asks for sharp 0.32, whose install script downloads libvips from GitHub, out of
        // reach here; sharp 0.33's binaries come from the npm registry instead.
        mkdirSync(userDir, { recursive: true });
        writeFileSync(join(userDir, 'package.json'), JSON.stringify({
          name: 'node-red-project', description: 'A Node-RED Project', version: '0.0.1', private: true,
          overrides: pkg.overrides,
        }));
        npm(['install', ...PALETTE_MANAGER_NPM_ARGS, '--prefer-offline', tarball], userDir);
        // Not the project's own list, which in-process tests may have put in this process's environment.
        red = await startNodeRed({ redJs, nodeBinary, userDir, env: { MARKETING_SAMPLE_CONTACTS: undefined } });
        installedPackage = join(userDir, 'node_modules', ...pkg.name.split('/'));
      });

      after(async function () {
        await red?.stop();
      });

      it('registers every node type of the package, enabled and without error', async function () {
        const sets = (await getJson<NodeSetInfo[]>(red.url, 'nodes')).filter((set) => set.module === pkg.name);
        const failed = sets.filter((set) => !set.enabled || set.err).map((set) => `${set.id}: ${set.err ?? 'disabled'}`);
        assert.deepEqual(failed, []);
        assert.deepEqual(sets.flatMap((set) => set.types).sort(), [...nodeTypes].sort());
        assert.doesNotMatch(red.output(), /\[error\]/);
      });

      it('lists the example flows in Import > Examples', async function () {
        const listed = await getJson<unknown[]>(red.url, `library/examples/flows/${pkg.name}`);
        const names = listed.map((entry) => (typeof entry === 'string' ? entry : (entry as { fn: string }).fn).replace(/\.json$/, ''));
        assert.deepEqual(names.sort(), [...exampleNames].sort());
      });

      it('gives example 01\'s File-in node the sample contact list inside the installed package', async function () {
        // Example 01's own File-in and CSV nodes, behind an HTTP endpoint instead of its button.
        const example = JSON.parse(readFileSync(join(root, 'examples', '01 - Campaign from a contact list.json'), 'utf8')) as FlowNode[];
        const fileIn = example.find((node) => node.type === 'file in') as FlowNode;
        const csv = example.find((node) => node.type === 'csv') as FlowNode;
        const answer = 'msg.payload = { file: env.get("MARKETING_SAMPLE_CONTACTS"), contacts: msg.payload }; return msg;';
        const flow = [
          { id: 'tab', type: 'tab', label: 'sample' },
          { id: 'in', type: 'http in', z: 'tab', url: '/sample-contacts', method: 'get', x: 100, y: 40, wires: [[fileIn.id]] },
          { ...fileIn, z: 'tab', wires: [[csv.id]] },
          { ...csv, z: 'tab', wires: [['answer']] },
          { id: 'answer', type: 'function', z: 'tab', func: answer, outputs: 1, x: 700, y: 40, wires: [['out']] },
          { id: 'out', type: 'http response', z: 'tab', statusCode: '', headers: {}, x: 900, y: 40, wires: [] },
        ];
        const deployed = await fetch(new URL('flows', red.url), {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
          body: JSON.stringify(flow),
        });
        assert.equal(deployed.status, 204, await deployed.text());
        // The deploy answers before the new flows have started.
        let response = await fetch(new URL('sample-contacts', red.url));
        for (const deadline = Date.now() + 20_000; response.status === 404 && Date.now() < deadline;) {
          await new Promise((resolveWait) => setTimeout(resolveWait, 100));
          response = await fetch(new URL('sample-contacts', red.url));
        }
        assert.equal(response.status, 200, await response.clone().text());
        const { file, contacts } = await response.json() as { file: string; contacts: Array<Record<string, unknown>> };
        assert.equal(file, join(installedPackage, 'examples', 'sample-contacts.csv'));
        assert.equal(contacts.length, 238);
        assert.deepEqual(Object.keys(contacts[0]).slice(0, 2), ['email', 'firstName']);
      });
    });
  }
});
