import { webSocket } from '@kit.NetworkKit';

let ws = webSocket.createWebSocket();
ws.on('headerReceive', (data) => {
 console.log("on headerReceive " + JSON.stringify(data));
});
