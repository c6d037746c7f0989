// Resolve hook behind `ohos-net-websocket/register` (Node 18.19+ and 20.6+ run it on the loader thread).
// It answers only for the four OpenHarmony module names the documentation's examples import
// and hands every other specifier to the next resolver unchanged.

const INDEX = new URL('../../index.js', import.meta.url).href;
const BASE = new URL('./base.mjs', import.meta.url).href;

/**
 * `@kit.NetworkKit` (named `webSocket`) and `@ohos.net.webSocket` (default export) are both
 * the package entry: its `module.exports` is the namespace and also has `.webSocket` and
 * `.default`. The two base modules only carry `BusinessError` and the callback type names.
 */
const ALIASES = new Map([
  ['@kit.NetworkKit', INDEX],
  ['@ohos.net.webSocket', INDEX],
  ['@kit.BasicServicesKit', BASE],
  ['@ohos.base', BASE],
]);

export async function resolve(specifier, context, nextResolve) {
  const url = ALIASES.get(specifier);
  if (url === undefined) return nextResolve(specifier, context);
  return { url, shortCircuit: true };
}
