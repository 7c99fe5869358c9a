/**
 * A Node-RED process for the crash test: runs the flow given on the command line, feeds it
 * the messages the parent sends, and reports each message leaving the send-email node
 * (output and msg.email, or the report) to the parent. The parent kills it with SIGKILL to crash it.
 */
import { startEmbeddedNodeRed } from './embedded-node-red';

interface SendEvent {
  source: { id: string; port: number };
  msg: { email?: unknown; topic?: unknown; payload?: unknown };
}

async function main(): Promise<void> {
  const [userDir, flowJson] = process.argv.slice(2);
  const RED = await startEmbeddedNodeRed(userDir, JSON.parse(flowJson) as Array<Record<string, unknown>>, 'sender');
  RED.hooks.add('onSend.crashTest', (events: SendEvent[]) => {
    for (const event of events) {
      if (event.source.id !== 'sender') continue;
      if (event.msg.topic === 'report') process.send?.({ report: event.msg.payload });
      else process.send?.({ output: event.source.port + 1, email: event.msg.email });
    }
  });
  process.on('message', (message: { feed?: Array<Record<string, unknown>> }) => {
    const sender = RED.nodes.getNode('sender');
    for (const msg of message.feed ?? []) sender?.receive(msg);
  });
  process.send?.({ ready: true });
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
