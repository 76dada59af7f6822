//! Just enough DER to read the subject Common Name of an X.509 certificate, for
//! `peer_cert_as_username = "cn"` (emqttd's `esockd_peercert:common_name/1`). Pure.

/// The DER encoding of the OID 2.5.4.3 (id-at-commonName).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const VERSION_TAG: u8 = 0xA0;

/// The subject's (last) Common Name of a DER certificate, or `None` when it has none or the
/// certificate cannot be read.
pub fn common_name(cert_der: &[u8]) -> Option<String> {
    let (tag, cert, _) = tlv(cert_der)?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, mut tbs, _) = tlv(cert)?;
    if tag != SEQUENCE {
        return None;
    }
    // [0] version (optional), serialNumber, signature, issuer, validity, subject
    let mut index = 0;
    loop {
        let (tag, body, rest) = tlv(tbs)?;
        tbs = rest;
        if index == 0 && tag == VERSION_TAG {
            continue;
        }
        if index == 4 {
            return (tag == SEQUENCE).then(|| name_cn(body)).flatten();
        }
        index += 1;
    }
}

/// The last CN attribute of a Name (SEQUENCE OF SET OF AttributeTypeAndValue).
fn name_cn(mut name: &[u8]) -> Option<String> {
    let mut found = None;
    while !name.is_empty() {
        let (tag, mut rdn, rest) = tlv(name)?;
        name = rest;
        if tag != SET {
            return None;
        }
        while !rdn.is_empty() {
            let (tag, attr, rest) = tlv(rdn)?;
            rdn = rest;
            if tag != SEQUENCE {
                return None;
            }
            let (tag, oid, value) = tlv(attr)?;
            if tag == OID && oid == OID_COMMON_NAME {
                let (string_tag, text, _) = tlv(value)?;
                found = Some(decode_string(string_tag, text)?);
            }
        }
    }
    found
}

/// A DirectoryString's text: UTF8String, PrintableString, IA5String, TeletexString (read as
/// Latin-1) or BMPString (UTF-16BE).
fn decode_string(tag: u8, bytes: &[u8]) -> Option<String> {
    match tag {
        0x0C | 0x13 | 0x16 => String::from_utf8(bytes.to_vec()).ok(),
        0x14 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        0x1E if bytes.len().is_multiple_of(2) => {
            let units: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// One DER tag-length-value: `(tag, value, the bytes after it)`.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1F == 0x1F {
        return None; // high tag numbers never occur where we look
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7F);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[count..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if body.len() < 0x80 {
            out.push(body.len() as u8);
        } else {
            out.push(0x82);
            out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(body);
        out
    }

    fn attr(oid: &[u8], string_tag: u8, text: &[u8]) -> Vec<u8> {
        let mut body = der(OID, oid);
        body.extend(der(string_tag, text));
        der(SET, &der(SEQUENCE, &body))
    }

    /// A certificate skeleton: only the fields the parser walks.
    fn cert(subject: &[u8], with_version: bool) -> Vec<u8> {
        let mut tbs = Vec::new();
        if with_version {
            tbs.extend(der(VERSION_TAG, &der(0x02, &[2])));
        }
        tbs.extend(der(0x02, &[1, 2, 3])); // serial
        tbs.extend(der(SEQUENCE, &der(OID, &[0x2A, 0x86, 0x48]))); // signature algorithm
        tbs.extend(der(SEQUENCE, &attr(OID_COMMON_NAME, 0x0C, b"issuer CA"))); // issuer
        tbs.extend(der(SEQUENCE, &[0x17, 0x01, b'x', 0x17, 0x01, b'y'])); // validity
        tbs.extend(der(SEQUENCE, subject));
        tbs.extend(der(SEQUENCE, &[])); // subjectPublicKeyInfo
        let mut cert = der(SEQUENCE, &tbs);
        cert.extend(der(SEQUENCE, &[])); // signatureAlgorithm
        der(SEQUENCE, &cert)
    }

    #[test]
    fn reads_the_subject_cn_not_the_issuer() {
        let mut subject = attr(&[0x55, 0x04, 0x0A], 0x13, b"Org"); // O
        subject.extend(attr(OID_COMMON_NAME, 0x0C, "dev-42 é".as_bytes()));
        assert_eq!(
            common_name(&cert(&subject, true)).as_deref(),
            Some("dev-42 é")
        );
        assert_eq!(
            common_name(&cert(&subject, false)).as_deref(),
            Some("dev-42 é")
        );
    }

    #[test]
    fn string_kinds() {
        let s = attr(OID_COMMON_NAME, 0x13, b"printable");
        assert_eq!(common_name(&cert(&s, true)).as_deref(), Some("printable"));
        let s = attr(OID_COMMON_NAME, 0x1E, &[0, b'h', 0, b'i']);
        assert_eq!(common_name(&cert(&s, true)).as_deref(), Some("hi"));
        let s = attr(OID_COMMON_NAME, 0x14, &[0xE9]);
        assert_eq!(common_name(&cert(&s, true)).as_deref(), Some("é"));
    }

    #[test]
    fn no_cn_or_garbage_is_none() {
        let s = attr(&[0x55, 0x04, 0x0A], 0x13, b"Org");
        assert_eq!(common_name(&cert(&s, true)), None);
        assert_eq!(common_name(&[]), None);
        assert_eq!(common_name(&[0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]), None);
        let good = cert(&attr(OID_COMMON_NAME, 0x0C, b"x"), true);
        for cut in 0..good.len() {
            assert_eq!(common_name(&good[..cut]), None, "truncated at {cut}");
        }
    }

    #[test]
    fn long_lengths() {
        let long = "n".repeat(300);
        let s = attr(OID_COMMON_NAME, 0x0C, long.as_bytes());
        assert_eq!(common_name(&cert(&s, true)), Some(long));
    }
}
