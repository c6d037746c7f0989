// What `npm start` (examples/echo-demo.mjs) prints after its listening line, in the order
// Node.js prints it: the examples suite and the other-runtimes suite hold every host to it.
export const ECHO_DEMO_LINES = [
  'Connected successfully',
  'on open, status:{"status":101,"message":"Switching Protocols"}',
  'Message send successfully',
  'on message, message:Hello, server!',
  'on message, message:bye',
  'Connection closed successfully',
  'on close, code is 1000, reason is CLOSE_NORMAL',
];
