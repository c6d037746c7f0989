// Maps the OpenHarmony kit import used by the newer seeds (`import { webSocket } from '@kit.NetworkKit'`)
// onto this package's hand-written typings (../../../index.d.ts, via `paths` in ../tsconfig.json).
declare module '@kit.NetworkKit' {
  export { webSocket } from 'ohos-net-websocket';
}
