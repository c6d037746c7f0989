// Minimal `console` for the examples: the check runs with lib es2020 only (no DOM, no @types/node installed).
declare var console: {
  log(...data: unknown[]): void;
  error(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};
