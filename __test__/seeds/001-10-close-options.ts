import { webSocket } from '@kit.NetworkKit';
import { BusinessError } from '@kit.BasicServicesKit';

let ws = webSocket.createWebSocket();

let options: webSocket.WebSocketCloseOptions | undefined;
if (options != undefined) {
 options.code = 1000
 options.reason = "your reason"
}
ws.close(options, (err: BusinessError) => {
 if (!err) {
 console.log("close success")
 } else {
 console.log("close fail, err is " + JSON.stringify(err))
 }
});
