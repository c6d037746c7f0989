// Maps `import { BusinessError, Callback } from '@kit.BasicServicesKit'` onto the error and callback
// types this package exports (BusinessError<T>, AsyncCallback<T>, Callback<T>, ErrorCallback).
declare module '@kit.BasicServicesKit' {
  export { BusinessError, AsyncCallback, Callback, ErrorCallback } from 'ohos-net-websocket';
}
