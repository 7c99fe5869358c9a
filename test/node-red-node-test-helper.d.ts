// The parts of node-red-node-test-helper (which ships no types) that the tests use.
declare module 'node-red-node-test-helper' {
  import type { Node } from 'node-red';

  interface HelperResponse {
    status: number;
    body: Record<string, unknown>;
  }
  interface HelperRequest extends PromiseLike<HelperResponse> {
    send(body: unknown): HelperRequest;
    set(field: string, value: string): HelperRequest;
  }

  interface NodeTestHelper {
    init(runtimePath?: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings: Record<string, unknown>): Record<string, unknown>;
    load(nodes: unknown, flow: unknown[], credentials?: Record<string, unknown>): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): Node & Record<string, unknown>;
    request(): { post(path: string): HelperRequest; get(path: string): HelperRequest };
    startServer(): Promise<void>;
    stopServer(): Promise<void>;
  }

  const helper: NodeTestHelper;
  export default helper;
}
