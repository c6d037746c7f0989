import { webSocket } from '@kit.NetworkKit';
import { BusinessError } from '@kit.BasicServicesKit';

let ws = webSocket.createWebSocket();
ws.close((err: BusinessError) => {
 if (!err) {
 console.log("close success")
 } else {
 console.log("close fail, err is " + JSON.stringify(err))
 }
});
