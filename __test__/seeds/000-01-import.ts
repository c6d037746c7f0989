import webSocket from '@ohos.net.webSocket';
