import { webSocket } from '@kit.NetworkKit'; // [added by extraction: the example has no import; line taken from the doc's "Modules to Import" section]
let ws: webSocket.WebSocket = webSocket.createWebSocket();
