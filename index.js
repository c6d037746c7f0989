'use strict';
// Entry point of ohos-net-websocket: the `webSocket` namespace of @ohos.net.webSocket.
// Hand-written; the native loader is lib/native.js.

const { createWebSocket, TlsProtocol } = require('./lib/websocket');
const { createWebSocketServer } = require('./lib/server');

/** R1: one namespace object, also the default and the named export `webSocket`. */
const webSocket = { createWebSocket, createWebSocketServer, TlsProtocol };

module.exports = webSocket;
module.exports.webSocket = webSocket;
module.exports.default = webSocket;
// Spelled out so Node's CommonJS export detection offers them as ESM named imports
// (`import { createWebSocket } from 'ohos-net-websocket'`); they are already there.
module.exports.createWebSocket = createWebSocket;
module.exports.createWebSocketServer = createWebSocketServer;
module.exports.TlsProtocol = TlsProtocol;
