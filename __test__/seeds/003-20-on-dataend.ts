import webSocket from '@ohos.net.webSocket';
import { BusinessError } from '@ohos.base';

let ws = webSocket.createWebSocket();
ws.on('dataEnd', (err: BusinessError) => {
  console.log("on dataEnd, error:" + JSON.stringify(err))
});
