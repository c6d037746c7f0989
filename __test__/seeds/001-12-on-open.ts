import { webSocket } from '@kit.NetworkKit';
import { BusinessError, Callback } from '@kit.BasicServicesKit';

let ws= webSocket.createWebSocket();
class OutValue {
 status: number = 0
 message: string = ""
}
ws.on('open', (err: BusinessError, value: Object) => {
 console.log("on open, status:" + (value as OutValue).status + ", message:" + (value as OutValue).message);
});
