import { webSocket } from '@kit.NetworkKit';

let ws = webSocket.createWebSocket();
let options: webSocket.WebSocketCloseOptions | undefined;
if (options != undefined) {
 options.code = 1000
 options.reason = "your reason"
}
let promise = ws.close();
promise.then((value: boolean) => {
 console.log("close success")
}).catch((err:string) => {
 console.log("close fail, err is " + JSON.stringify(err))
});
