/**
 * Functions made from generated source (`new Function`), one per distinct source text.
 *
 * V8 keeps what it learns about a function (type feedback, optimised machine code) with the
 * function's source, so a function made anew is slow again, even when its text is the same
 * as before: every redeploy, and every new segmenter of the same segments, would start cold.
 * The generated sources here contain only structure (field names as literals, and parameter
 * names for everything else), so the same text stands for the same code and one function
 * serves every caller. Measured on this project's benchmark machine: a new segmenter of the
 * benchmark's segments took about 140 ms longer on a million contacts before its code warmed up.
 */

/** Distinct sources kept: far more than the fields and rule shapes of a real set of flows. */
const MAX_SOURCES = 500;
const functions = new Map<string, (...args: never[]) => unknown>();

/** `new Function(...params, body)` in strict mode, made once per distinct parameter list and body. */
export function generatedFunction<F extends (...args: never[]) => unknown>(params: readonly string[], body: string): F {
  const source = `${params.join(',')}\n${body}`;
  let fn = functions.get(source);
  if (fn === undefined) {
    // A long-running Node-RED with ever-new rule shapes starts over rather than growing for ever.
    if (functions.size >= MAX_SOURCES) functions.clear();
    fn = new Function(...params, `'use strict';\n${body}`) as (...args: never[]) => unknown;
    functions.set(source, fn);
  }
  return fn as F;
}
