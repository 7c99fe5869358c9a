/**
 * The flow library's scorecard (node-red-dev validate) stops here at its first call to the
 * flow library's catalogue, so its rules are checked on the package directly: the same
 * inputs (package.json, the editor .html files, examples/), the same npm registry facts.
 * Not checked: N01 (node names unique in the catalogue) and P08 (similar package names),
 * which need the catalogue itself.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import semver from 'semver';
import ts from 'typescript';

const root = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const nodeFiles: string[] = Object.values(pkg['node-red'].nodes);

function npmView<T>(...args: string[]): T {
  return JSON.parse(execFileSync('npm', ['view', ...args, '--json'], { encoding: 'utf8' })) as T;
}

interface EditorDefinition { type: string; literal: Record<string, unknown>; notInline: string[] }

/** What the scorecard's parser reads of each RED.nodes.registerType call in a node's .html. */
function editorDefinitions(htmlFile: string): EditorDefinition[] {
  const html = readFileSync(htmlFile, 'utf8');
  const scripts = [...html.matchAll(/<script.+?type=['"]text\/javascript['"].*?>([\S\s]*?)<\/script>/gi)].map((m) => m[1]);
  const definitions: EditorDefinition[] = [];
  for (const script of scripts) {
    const source = ts.createSourceFile('editor.js', script, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'registerType') {
        const [typeArg, defArg] = node.arguments;
        assert.ok(ts.isStringLiteral(typeArg), `${htmlFile}: registerType with a literal type`);
        assert.ok(defArg && ts.isObjectLiteralExpression(defArg), `${htmlFile}: registerType with an inline definition`);
        const definition: EditorDefinition = { type: typeArg.text, literal: {}, notInline: [] };
        for (const property of defArg.properties) {
          if (!ts.isPropertyAssignment(property) || !ts.isIdentifier(property.name)) continue;
          const key = property.name.text;
          const value = property.initializer;
          if (['icon', 'color', 'category', 'inputs', 'outputs'].includes(key)) {
            if (ts.isStringLiteral(value)) definition.literal[key] = value.text;
            else if (ts.isNumericLiteral(value)) definition.literal[key] = Number(value.text);
            else definition.notInline.push(key);
          } else if (['defaults', 'credentials'].includes(key) && !ts.isObjectLiteralExpression(value)) {
            definition.notInline.push(key);
          }
        }
        definitions.push(definition);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return definitions;
}

describe('flow library scorecard rules', function () {
  this.timeout(60000);

  it('P01 declares a licence, P03 a repository, P05 the node-red keyword', function () {
    assert.equal(pkg.license, 'Apache-2.0');
    assert.ok(existsSync(join(root, 'LICENSE')));
    assert.match(pkg.repository.url, /^git\+https:\/\/.+\.git$/);
    assert.ok(pkg.keywords.includes('node-red'));
  });

  it('P04 uses a scoped name', function () {
    assert.match(pkg.name, /^@[a-z\d][\w-.]+\/[a-z\d][\w-.]*$/);
  });

  it('P06 node-red.version is satisfied by the current Node-RED releases (latest and maintenance tags)', function () {
    const tags = npmView<Record<string, string>>('node-red', 'dist-tags');
    const supported = Object.entries(tags).filter(([tag]) => /maintenance|^latest$/.test(tag)).map(([, version]) => version);
    assert.ok(supported.length > 0);
    for (const version of supported) assert.ok(semver.satisfies(version, pkg['node-red'].version), `Node-RED ${version}`);
    const installed = JSON.parse(readFileSync(join(root, 'node_modules', 'node-red', 'package.json'), 'utf8')).version;
    assert.ok(semver.satisfies(installed, pkg['node-red'].version), 'the Node-RED the tests run on');
  });

  it('P07 engines.node admits the minimum Node.js of the latest Node-RED', function () {
    const latest = npmView<string>('node-red', 'version');
    const engines = npmView<{ node: string }>(`node-red@${latest}`, 'engines');
    const minimum = semver.minVersion(engines.node);
    assert.ok(minimum && semver.satisfies(minimum, pkg.engines.node), `Node.js ${minimum} satisfies ${pkg.engines.node}`);
  });

  it('D01 has at most six runtime dependencies, D03 each at its latest version', function () {
    const dependencies: Record<string, string> = pkg.dependencies;
    assert.ok(Object.keys(dependencies).length <= 6, Object.keys(dependencies).join(', '));
    for (const [name, range] of Object.entries(dependencies)) {
      const latest = npmView<string>(name, 'version');
      assert.ok(semver.satisfies(latest, range), `${name}: ${range} does not admit the latest ${latest}`);
    }
  });

  it('D02 has no known-incompatible package (agent-base < 6) in its runtime tree', function () {
    const tree = execFileSync('npm', ['ls', '--all', '--omit=dev', '--parseable', '--long'], { cwd: root, encoding: 'utf8' });
    const agentBases = tree.split('\n').map((line) => /:agent-base@([^:]+):/.exec(line)?.[1]).filter((v): v is string => !!v);
    assert.deepEqual(agentBases.filter((version) => semver.lt(version, '6.0.0')), []);
  });

  it('writes every editor definition inline, in the marketing category, with an icon', function () {
    const types: string[] = [];
    for (const file of nodeFiles) {
      for (const definition of editorDefinitions(join(root, file.replace(/\.js$/, '.html')))) {
        types.push(definition.type);
        assert.deepEqual(definition.notInline, [], `${definition.type}: not inline`);
        assert.match(definition.type, /^marketing-/);
        assert.ok(['marketing', 'config'].includes(String(definition.literal.category)), `${definition.type} category`);
        if (definition.literal.category !== 'config') assert.match(String(definition.literal.icon), /\.svg$/);
      }
    }
    assert.deepEqual(types.sort(), Object.keys(pkg['node-red'].nodes).sort());
  });

  it('N02 uses every non-config node in an example flow', function () {
    const used = new Set<string>();
    for (const file of readdirSync(join(root, 'examples')).filter((name) => name.endsWith('.json'))) {
      for (const node of JSON.parse(readFileSync(join(root, 'examples', file), 'utf8'))) used.add(node.type);
    }
    const missing = nodeFiles.flatMap((file) => editorDefinitions(join(root, file.replace(/\.js$/, '.html'))))
      .filter((definition) => definition.literal.category !== 'config' && !used.has(definition.type))
      .map((definition) => definition.type);
    assert.deepEqual(missing, []);
  });
});
