/*
 * Test-only stand-in for Windows' bcryptprimitives.dll, for running the addon under wine.
 *
 * Rust's standard library (1.78 and later) takes its random bytes from ProcessPrng, which
 * bcryptprimitives.dll exports on Windows 10 and later; wine 8 has no such DLL, so the addon
 * would not load there. This exports the one function over BCryptGenRandom, which wine does
 * have. It is installed into the test wine prefix only, never shipped.
 */
#include <windows.h>
#include <bcrypt.h>

/* Fills `data` with `len` random bytes. BCryptGenRandom takes a ULONG count, so larger
 * requests are served in pieces. */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
