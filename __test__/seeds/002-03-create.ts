import webSocket from '@ohos.net.webSocket'; // [added by extraction: the example has no import; line taken from the doc's "Modules to Import" section]
let ws: webSocket = webSocket.createWebSocket();
