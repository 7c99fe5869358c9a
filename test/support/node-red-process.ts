/**
 * A real Node-RED process on a free loopback port, for tests of what users run: the
 * palette install, `npm start`, two instances talking to each other, the editor in a browser.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installPackageLink } from './package-link';

export interface NodeRedProcessOptions {
  /** Node-RED's red.js (the version under test); default: the node-red devDependency's. */
  redJs?: string;
  userDir: string;
  /** Install this package in the user dir as a link in its node_modules (as `npm install <path>` does). */
  linkPackage?: boolean;
  /** Flows to start with (written to the user dir's flows.json). */
  flows?: unknown[];
  /** The Node.js binary to run it with; default: this process's. */
  nodeBinary?: string;
  /** Options for that binary, before red.js (e.g. `--disallow-code-generation-from-strings`). */
  nodeArgs?: string[];
  /** Extra settings.js properties (JSON-serialisable). */
  settings?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

export interface RunningNodeRed {
  /** Base URL of the editor and the Admin API, e.g. http://127.0.0.1:41234/ */
  url: string;
  process: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves when the output after its first `from` characters matches `pattern`. */
  waitForOutput(pattern: RegExp, from?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startNodeRed(options: NodeRedProcessOptions): Promise<RunningNodeRed> {
  mkdirSync(options.userDir, { recursive: true });
  if (options.linkPackage) installPackageLink(options.userDir);
  if (options.flows) writeFileSync(join(options.userDir, 'flows.json'), JSON.stringify(options.flows));
  const settingsFile = join(options.userDir, 'test-settings.js');
  const settings = { uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'test-only', ...options.settings };
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

  const child = spawn(
    options.nodeBinary ?? process.execPath,
    [...(options.nodeArgs ?? []), options.redJs ?? require.resolve('node-red/red.js'), '--userDir', options.userDir, '--settings', settingsFile, '--port', '0'],
    { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`Node-RED did not start within ${options.startTimeoutMs ?? 60000} ms:\n${output}`)),
      options.startTimeoutMs ?? 60000,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // In English, or in Chinese when the settings set `lang: 'zh-CN'`.
      const running = /Server now running at (http:\/\/\S+\/)|服务器现在在(http:\/\/\S+\/)上运行/.exec(output);
      if (running) {
        clearTimeout(timer);
        resolve(running[1] ?? running[2]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Node-RED exited with ${code} before it started:\n${output}`));
    });
  });

  return {
    url,
    process: child,
    output: () => output,
    async waitForOutput(pattern, from = 0, timeoutMs = 30000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(output.slice(from))) {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`Node-RED exited while waiting for ${pattern}:\n${output}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${output}`);
        await new Promise((resolveWait) => setTimeout(resolveWait, 50));
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** GET a JSON document from a running Node-RED's Admin API. */
export async function getJson<T>(base: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, base), { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}
