// `node --import ohos-net-websocket/register app.mjs`: installs a resolve hook so that code
// written for OpenHarmony imports this package under the device's module names
// (`@kit.NetworkKit`, `@ohos.net.webSocket`, `@kit.BasicServicesKit`, `@ohos.base`) without
// editing its import lines. The mapping itself lives in lib/register/hooks.mjs.
//
// Needs module.register: Node.js 18.19 or newer (20.6 on the 20 line; DevEco Studio ships
// 18.20). The hook is a plain `resolve` and uses nothing newer than what 18.19 has (no
// `initialize` data, no `import.meta.resolve`, no `load`), and on 18.19+ and 20.6+ hooks run
// the same way, on the loader thread.
import * as nodeModule from 'node:module';

// A namespace import, not `import { register }`: on a Node.js without module.register the
// named import would fail at link time with a message that does not say what to do.
if (typeof nodeModule.register !== 'function') {
  throw new Error(
    `ohos-net-websocket/register needs Node.js 18.19 or newer (module.register); this is ${process.version}. ` +
      "Without it, import 'ohos-net-websocket' instead of the OpenHarmony module names.",
  );
}

nodeModule.register('./lib/register/hooks.mjs', import.meta.url);
