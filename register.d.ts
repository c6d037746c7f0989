// Type-only aliases that go with `ohos-net-websocket/register`: the OpenHarmony module names
// the hook maps at run time, declared for tsc and editors so code keeps its original import
// lines. Enable them with `"types": ["ohos-net-websocket/register"]` in tsconfig.json (or
// `/// <reference types="ohos-net-websocket/register" />`); every name comes from index.d.ts.

declare module '@kit.NetworkKit' {
  export { webSocket } from 'ohos-net-websocket';
}

declare module '@ohos.net.webSocket' {
  import { webSocket } from 'ohos-net-websocket';
  export default webSocket;
}

declare module '@kit.BasicServicesKit' {
  export { BusinessError, AsyncCallback, Callback, ErrorCallback } from 'ohos-net-websocket';
}

declare module '@ohos.base' {
  export { BusinessError, AsyncCallback, Callback, ErrorCallback } from 'ohos-net-websocket';
}
