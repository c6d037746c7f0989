// `node --import ohos-net-websocket/register app.mjs`: installs a resolve hook so that code
// written for OpenHarmony imports this package under the device's module names
// (`@kit.NetworkKit`, `@ohos.net.webSocket`, `@kit.BasicServicesKit`, `@ohos.base`) without
// editing its import lines. The mapping itself lives in lib/register/hooks.mjs.
import * as nodeModule from 'node:module';

// A namespace import, not `import { register }`: on a Node.js without module.register the
// named import would fail at link time with a message that does not say what to do.
if (typeof nodeModule.register !== 'function') {
  throw new Error(
    `ohos-net-websocket/register needs Node.js 20.6 or newer (module.register); this is ${process.version}. ` +
      "Without it, import 'ohos-net-websocket' instead of the OpenHarmony module names.",
  );
}

nodeModule.register('./lib/register/hooks.mjs', import.meta.url);
