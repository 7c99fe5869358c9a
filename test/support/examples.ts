/**
 * The example flows exactly as they ship (examples/*.json), for the tests that run them end
 * to end: read from their files, with Debug nodes turned into helper nodes (Debug needs the
 * editor's comms; a helper node receives what the Debug node would show) and, where a test
 * says so, the flow's marketing-smtp node pointed at a loopback SMTP server.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { TestFlow } from './red';

export const EXAMPLES_DIR = join(__dirname, '..', '..', '..', 'examples');

export type FlowNode = Record<string, unknown> & { id: string; type: string; name?: string; wires?: string[][] };

export function readExample(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(EXAMPLES_DIR, `${file}.json`), 'utf8')) as FlowNode[];
}

/** Debug nodes as helper nodes, for node-red-node-test-helper. */
export function withHelperNodes(flow: FlowNode[]): FlowNode[] {
  return flow.map((node) => (node.type === 'debug' ? { ...node, type: 'helper' } : node));
}

/** The flow's marketing-smtp node delivers to the SMTP server on loopback `port` instead of its outbox. */
export function deliverToSmtpServer(flow: FlowNode[], port: number): FlowNode[] {
  return flow.map((node) => (node.type === 'marketing-smtp'
    ? { ...node, transport: 'smtp', host: '127.0.0.1', port, security: 'none' }
    : node));
}

/** The one node of `type` (named `name`, when given); fails when there is none or several. */
export function nodeOf(flow: FlowNode[], type: string, name?: string): FlowNode {
  const found = flow.filter((node) => node.type === type && (name === undefined || node.name === name));
  if (found.length !== 1) throw new Error(`${found.length} nodes of type ${type}${name ? ` named "${name}"` : ''}`);
  return found[0];
}

/** Node-RED's core node modules that the examples use, for helper.load(). */
export function coreNodes(): unknown[] {
  const core = createRequire(require.resolve('node-red'));
  return [
    'common/20-inject.js', 'common/25-catch.js', 'common/90-comment.js', 'function/10-function.js', 'function/10-switch.js',
    'function/15-change.js', 'sequence/17-split.js', 'parsers/70-CSV.js', 'storage/10-file.js',
  ].map((file) => core(`@node-red/nodes/core/${file}`) as unknown);
}

export type { TestFlow };
