// Maps the legacy `import { BusinessError, Callback } from '@ohos.base'` onto this package's types.
declare module '@ohos.base' {
  export { BusinessError, AsyncCallback, Callback, ErrorCallback } from 'ohos-net-websocket';
}
