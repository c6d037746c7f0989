//! Client private keys (R28): plain PKCS#8 / PKCS#1 / SEC1 PEM, encrypted PKCS#8
//! (PBES2 with PBKDF2 or scrypt, AES-CBC or 3DES-CBC), and the legacy OpenSSL form
//! (`Proc-Type: 4,ENCRYPTED` + `DEK-Info`, DES-EDE3-CBC or AES-128/192/256-CBC).
//! Pure functions over the file's bytes.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, KeyIvInit};
use base64ct::{Base64, Encoding};
use md5::{Digest, Md5};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

/// Why a key could not be loaded; each becomes the detail of a connection failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// No `-----BEGIN … PRIVATE KEY-----` block in the file.
    NoKey,
    /// The PEM block is damaged (base64, headers, DER).
    Malformed(String),
    /// The key is encrypted and no password was given.
    PasswordRequired,
    /// Decryption failed: wrong password or damaged data.
    WrongPassword,
    /// An encryption scheme we do not implement.
    Unsupported(String),
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NoKey => f.write_str("no private key in the file"),
            KeyError::Malformed(d) => write!(f, "malformed private key: {d}"),
            KeyError::PasswordRequired => {
                f.write_str("the private key is encrypted and keyPassword is empty")
            }
            KeyError::WrongPassword => {
                f.write_str("cannot decrypt the private key: wrong keyPassword?")
            }
            KeyError::Unsupported(d) => write!(f, "unsupported private key encryption: {d}"),
        }
    }
}

/// One PEM block: label, `Name: value` headers, decoded body.
struct PemBlock {
    label: String,
    headers: Vec<(String, String)>,
    der: Vec<u8>,
}

/// The first `… PRIVATE KEY` block of `text`.
fn find_key_block(text: &str) -> Result<PemBlock, KeyError> {
    let mut lines = text.lines().map(str::trim);
    let label = loop {
        let line = lines.next().ok_or(KeyError::NoKey)?;
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            if let Some(label) = rest.strip_suffix("-----") {
                if label.ends_with("PRIVATE KEY") {
                    break label.to_string();
                }
            }
        }
    };
    let end = format!("-----END {label}-----");
    let mut headers = Vec::new();
    let mut body = String::new();
    for line in lines.by_ref() {
        if line == end {
            let der = Base64::decode_vec(&body).map_err(|e| KeyError::Malformed(e.to_string()))?;
            return Ok(PemBlock {
                label,
                headers,
                der,
            });
        }
        match line.split_once(':') {
            Some((name, value)) if body.is_empty() => {
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
            _ => body.push_str(line),
        }
    }
    Err(KeyError::Malformed(format!("missing {end}")))
}

/// Loads the private key of a PEM file's bytes, decrypting it with `password` if needed.
pub fn load_private_key(pem: &[u8], password: &str) -> Result<PrivateKeyDer<'static>, KeyError> {
    let text =
        std::str::from_utf8(pem).map_err(|_| KeyError::Malformed("not UTF-8 text".into()))?;
    let block = find_key_block(text)?;
    let encrypted_legacy = block
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("Proc-Type") && v.contains("ENCRYPTED"));
    match block.label.as_str() {
        "ENCRYPTED PRIVATE KEY" => {
            if password.is_empty() {
                return Err(KeyError::PasswordRequired);
            }
            let info = pkcs8::EncryptedPrivateKeyInfo::try_from(block.der.as_slice())
                .map_err(|e| KeyError::Malformed(e.to_string()))?;
            check_kdf_cost(&info.encryption_algorithm)?;
            let doc = info.decrypt(password).map_err(|e| match e {
                pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm {
                    ..
                }) => KeyError::Unsupported(e.to_string()),
                _ => KeyError::WrongPassword,
            })?;
            // A wrong password usually fails the padding check; a lucky pass still
            // yields garbage, which the DER check catches.
            pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|_| KeyError::WrongPassword)?;
            Ok(PrivatePkcs8KeyDer::from(doc.as_bytes().to_vec()).into())
        }
        "PRIVATE KEY" => Ok(PrivatePkcs8KeyDer::from(block.der).into()),
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" => {
            let der = if encrypted_legacy {
                decrypt_legacy(&block, password)?
            } else {
                block.der
            };
            if block.label == "RSA PRIVATE KEY" {
                Ok(PrivatePkcs1KeyDer::from(der).into())
            } else {
                Ok(PrivateSec1KeyDer::from(der).into())
            }
        }
        other => Err(KeyError::Unsupported(format!("PEM label {other}"))),
    }
}

/// Most PBKDF2 iterations we run: a key file is configuration, not an attacker, but a
/// damaged or hostile one must not stall the I/O thread for minutes (fuzzing found a key
/// with 2^31 iterations). OpenSSL writes 2 048; ten million take seconds.
const PBKDF2_ITERATIONS_MAX: u32 = 10_000_000;

/// Most memory an scrypt key derivation may use (128·N·r bytes), as OpenSSL's 32 MiB
/// default limit; fuzzing found N = 2^40, which aborted Node with a failed allocation.
const SCRYPT_MEMORY_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// Refuses key-derivation parameters that would take unbounded time or memory.
fn check_kdf_cost(scheme: &pkcs8::pkcs5::EncryptionScheme<'_>) -> Result<(), KeyError> {
    use pkcs8::pkcs5::pbes2::Kdf;
    let Some(params) = scheme.pbes2() else {
        return Ok(());
    };
    match &params.kdf {
        Kdf::Pbkdf2(p) if p.iteration_count > PBKDF2_ITERATIONS_MAX => {
            Err(KeyError::Unsupported(format!(
                "PBKDF2 with {} iterations (at most {PBKDF2_ITERATIONS_MAX})",
                p.iteration_count
            )))
        }
        Kdf::Scrypt(p) => {
            let memory = 128u64
                .saturating_mul(p.cost_parameter)
                .saturating_mul(u64::from(p.block_size));
            if memory > SCRYPT_MEMORY_MAX_BYTES {
                Err(KeyError::Unsupported(format!(
                    "scrypt needing {memory} bytes (at most {SCRYPT_MEMORY_MAX_BYTES})"
                )))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration, as the legacy PEM form uses.
fn bytes_to_key(password: &[u8], salt: &[u8], key_len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(key_len + 16);
    let mut previous: Vec<u8> = Vec::new();
    while key.len() < key_len {
        let mut h = Md5::new();
        h.update(&previous);
        h.update(password);
        h.update(salt);
        previous = h.finalize().to_vec();
        key.extend_from_slice(&previous);
    }
    key.truncate(key_len);
    key
}

fn decrypt_legacy(block: &PemBlock, password: &str) -> Result<Vec<u8>, KeyError> {
    if password.is_empty() {
        return Err(KeyError::PasswordRequired);
    }
    let dek = block
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("DEK-Info"))
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| KeyError::Malformed("Proc-Type ENCRYPTED without DEK-Info".into()))?;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or_else(|| KeyError::Malformed("bad DEK-Info".into()))?;
    let iv =
        decode_hex(iv_hex.trim()).ok_or_else(|| KeyError::Malformed("bad DEK-Info IV".into()))?;
    let salt = iv
        .get(..8)
        .ok_or_else(|| KeyError::Malformed("short IV".into()))?;
    let mut data = block.der.clone();
    let pw = password.as_bytes();
    let plain_len = match cipher.trim().to_ascii_uppercase().as_str() {
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&bytes_to_key(pw, salt, 16), &iv, &mut data),
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&bytes_to_key(pw, salt, 24), &iv, &mut data),
        "AES-256-CBC" => cbc_decrypt::<aes::Aes256>(&bytes_to_key(pw, salt, 32), &iv, &mut data),
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&bytes_to_key(pw, salt, 24), &iv, &mut data),
        other => return Err(KeyError::Unsupported(other.to_string())),
    }?;
    data.truncate(plain_len);
    // The result must be one DER SEQUENCE spanning the whole buffer; garbage from a
    // wrong password that happened to pass the padding check fails here.
    if !is_der_sequence(&data) {
        return Err(KeyError::WrongPassword);
    }
    Ok(data)
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &mut [u8]) -> Result<usize, KeyError>
where
    C: aes::cipher::BlockCipher + aes::cipher::BlockDecryptMut + aes::cipher::KeyInit,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv)
        .map_err(|_| KeyError::Malformed("bad key or IV length".into()))?;
    decryptor
        .decrypt_padded_mut::<Pkcs7>(data)
        .map(|plain| plain.len())
        .map_err(|_| KeyError::WrongPassword)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `data` is exactly one DER SEQUENCE (tag 0x30 with a length covering the rest).
fn is_der_sequence(data: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (data.first(), data.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || data.len() < 2 + n {
            return false;
        }
        let len = data[2..2 + n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    header + len == data.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdf_matches_openssl() {
        // EVP_BytesToKey(MD5, "password", salt 0102030405060708, 1 iteration), 32 bytes,
        // as printed by `openssl enc -aes-256-cbc -P -md md5 -S 0102030405060708 -pass pass:password`.
        let key = bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 32);
        assert_eq!(
            decode_hex("E7B0971E52CA5CC8D0539FB3412F6316F7BA2E6EE293D9F3457B99436B51CE02").unwrap(),
            key
        );
        let again = bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 16);
        assert_eq!(&key[..16], &again[..]);
    }

    #[test]
    fn pem_blocks() {
        let text = "junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAEC\n-----END RSA PRIVATE KEY-----\n";
        let block = find_key_block(text).unwrap();
        assert_eq!(block.label, "RSA PRIVATE KEY");
        assert_eq!(block.headers.len(), 2);
        assert_eq!(block.der, vec![0, 1, 2]);
        assert!(matches!(find_key_block("nothing"), Err(KeyError::NoKey)));
        assert!(matches!(
            load_private_key(text.as_bytes(), ""),
            Err(KeyError::PasswordRequired)
        ));
    }

    #[test]
    fn kdf_bombs_are_refused_quickly() {
        // Found by fuzzing (fuzz/README.md): N = 2^40 aborted Node on allocation, 2^31
        // PBKDF2 iterations blocked the I/O thread. Both must fail fast instead.
        for (name, pem) in [
            (
                "scrypt",
                &include_bytes!("testdata/scrypt-n-2pow40.pem")[..],
            ),
            ("pbkdf2", &include_bytes!("testdata/pbkdf2-2pow31.pem")[..]),
        ] {
            let started = std::time::Instant::now();
            let err = load_private_key(pem, "fuzz").unwrap_err();
            assert!(matches!(err, KeyError::Unsupported(_)), "{name}: {err}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(1),
                "{name}"
            );
        }
    }

    #[test]
    fn der_sequence_check() {
        assert!(is_der_sequence(&[0x30, 0x01, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x02, 0x00]));
        assert!(!is_der_sequence(&[0x31, 0x00]));
    }
}
