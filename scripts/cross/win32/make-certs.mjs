// Writes the test certificates of __test__/helpers/certs.mjs into the directory given as the
// one argument, with the host's openssl, for test runs where openssl cannot run (node.exe
// under wine): those runs set OHOS_WS_TEST_CERTS to that directory.
import { resolve } from 'node:path';
import { writePremadePki } from '../../../__test__/helpers/certs.mjs';

const dest = process.argv[2];
if (!dest) {
  console.error('usage: node scripts/cross/win32/make-certs.mjs <directory>');
  process.exit(2);
}
writePremadePki(resolve(dest));
