import { webSocket } from '@kit.NetworkKit';
import { BusinessError } from '@kit.BasicServicesKit';

let ws = webSocket.createWebSocket();
let options: webSocket.WebSocketRequestOptions | undefined;
if (options !=undefined) {
 options.header = {
 name1: "value1",
 name2: "value2",
 name3: "value3"
 };
 options.caPath = "";
}
let url = "ws://"
ws.connect(url, options, (err: BusinessError, value: Object) => {
 if (!err) {
 console.log("connect success");
 } else {
 console.log("connect fail, err:" + JSON.stringify(err))
 }
});
