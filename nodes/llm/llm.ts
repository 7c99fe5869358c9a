/**
 * `marketing-llm` (config node): which model generates the text. It only describes the
 * model; the model itself lives in the process-wide registry (lib/generation/
 * model-registry.ts), shared by every node with the same settings. The config node holds
 * a lease too, so that redeploying only the nodes that use it does not reload the model.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { resolveModelSpec, type ModelSettings, type ModelSpec } from '../../lib/generation/model-loader';
import { modelRegistry } from '../../lib/generation/model-registry';

interface LlmNodeDef extends NodeDef, ModelSettings {
  loadAt: string;
}

type LlmNode = Node & { spec: ModelSpec; loadAtDeploy: boolean };

export = function (RED: NodeAPI) {
  function MarketingLlmNode(this: LlmNode, config: LlmNodeDef) {
    RED.nodes.createNode(this, config);
    const userDir = (RED.settings as { userDir?: string }).userDir ?? process.cwd();
    this.spec = resolveModelSpec(config, userDir);
    this.loadAtDeploy = config.loadAt !== 'first';
    const lease = modelRegistry.acquire(this.spec);

    this.on('close', (_removed: boolean, done: () => void) => {
      lease.release().then(done, done);
    });
  }

  RED.nodes.registerType('marketing-llm', MarketingLlmNode);
};
