/**
 * `marketing-llm` (config node): which model generates the text, in this process or on an
 * inference server. It only describes the model; the model itself lives in the
 * process-wide registry (lib/generation/model-registry.ts), shared by every node with the
 * same settings. The config node holds a lease too, so that redeploying only the nodes that
 * use it does not reload the model. A server's API key is a credential: Node-RED keeps it
 * encrypted, out of the flow JSON, and it reaches nothing but the Authorization header.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { resolveModelSpec, type ModelSettings, type ModelSpec } from '../../lib/generation/backends';
import { modelRegistry } from '../../lib/generation/model-registry';
import { isLoopbackHost } from '../../lib/network';
import { userDirectory } from '../common';

interface LlmNodeDef extends NodeDef, ModelSettings {
  loadAt: string;
}

interface LlmCredentials {
  apiKey: unknown;
}

type LlmNode = Node<LlmCredentials> & { spec: ModelSpec; loadAtDeploy: boolean };

export = function (RED: NodeAPI) {
  function MarketingLlmNode(this: LlmNode, config: LlmNodeDef) {
    RED.nodes.createNode(this, config);
    this.spec = resolveModelSpec(config, userDirectory(RED), this.credentials?.apiKey);
    // A server model loads instantly (nothing is contacted): its settings are checked at deploy.
    this.loadAtDeploy = this.spec.source === 'server' || config.loadAt !== 'first';
    if (this.spec.source === 'server' && this.spec.apiKey.isSet && plainHttpElsewhere(this.spec.baseUrl)) {
      this.warn(RED._('llm.warnings.keyOverHttp'));
    }
    const lease = modelRegistry.acquire(this.spec);

    this.on('close', (_removed: boolean, done: () => void) => {
      lease.release().then(done, done);
    });
  }

  /** An API key sent over plain HTTP to another machine can be read on the way. */
  function plainHttpElsewhere(baseUrl: string): boolean {
    try {
      const url = new URL(baseUrl);
      return url.protocol === 'http:' && !isLoopbackHost(url.hostname);
    } catch {
      return false;
    }
  }

  RED.nodes.registerType('marketing-llm', MarketingLlmNode, {
    credentials: { apiKey: { type: 'password' } },
  });
};
