/**
 * Preloaded (`node --require`) into the Node-RED process that runs with
 * `--disallow-code-generation-from-strings`. Node-RED 4's web server, express 4, loads
 * body-parser, which wraps a deprecated function with `depd`; depd builds that wrapper with
 * `new Function` (dougwilson/nodejs-depd#41), so Node-RED cannot even start under the flag.
 * This replaces depd's function wrapper, and nothing else, by one that returns the function
 * as it is (no deprecation warning), so that the flag can be tested on this package's nodes.
 */
import Module from 'node:module';

type Deprecate = ((message: string) => void) & { function: (fn: unknown, message?: string) => unknown };
type Load = (request: string, parent: unknown, isMain: boolean) => unknown;

const loader = Module as unknown as { _load: Load };
const load = loader._load;
loader._load = function (this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
  const exported = load.call(this, request, parent, isMain);
  if (request !== 'depd') return exported;
  const depd = exported as (namespace: string) => Deprecate;
  return (namespace: string) => Object.assign(depd(namespace), { function: (fn: unknown) => fn });
};
