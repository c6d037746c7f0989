// What `@kit.BasicServicesKit` and `@ohos.base` resolve to under the register hook.
// OpenHarmony code imports `BusinessError` (and the callback types) from them, almost always
// for type annotations only; after type stripping the import line may be gone or may remain,
// and both must run.
import errors from '../errors.js';

/** The class of every error this package delivers, so `err instanceof BusinessError` holds. */
export const BusinessError = errors.BusinessError;

// Type-only names. TypeScript drops an import used only in types, but a stripper that keeps
// import lines as written (Node's own type stripping, `verbatimModuleSyntax`) leaves
// `import { BusinessError, Callback } from '@ohos.base'`, and that line links only if every
// name exists. No correct program reads them as values.
export const AsyncCallback = undefined;
export const Callback = undefined;
export const ErrorCallback = undefined;
