// Maps the legacy module import used by the older seeds (`import webSocket from '@ohos.net.webSocket'`)
// onto this package's typings: the default export is the `webSocket` namespace (R1).
declare module '@ohos.net.webSocket' {
  import { webSocket } from 'ohos-net-websocket';
  export default webSocket;
}
