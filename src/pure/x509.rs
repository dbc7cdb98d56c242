//! What the handshake reads of an X.509 certificate (RFC 5280 §4.1), straight from its DER:
//! version, serial, names, validity, the public key's algorithm and size, and the four
//! extensions it looks at (basicConstraints, subjectAltName and the two key identifiers).
//!
//! Written here rather than taken from a general X.509 crate: the Node action's engine compiles
//! each WebAssembly function on its first call, and a general parser (every known extension
//! parsed, an OID registry, parser combinators) was the largest single cost of reading the CA
//! at start-up (CONTRIBUTING.md, "Where the Node action's time goes"). This one reads the
//! structure as DER (definite, minimal lengths; every field where RFC 5280 puts it) and leaves
//! the rest of the certificate alone. It never checks a signature: trust is proven by the TLS
//! probe and the login proof.
//!
//! Input is untrusted: every read is bounds-checked, no input makes it panic (a property test
//! feeds it arbitrary bytes), and an error names the field that broke, never the bytes.

use std::fmt;

/// Why a certificate could not be read: the field that broke, never its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct X509Error(&'static str);

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

type Result<T> = std::result::Result<T, X509Error>;

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT` (the version) and `[3] EXPLICIT` (the extensions) in a TBSCertificate.
const EXPLICIT_0: u8 = 0xa0;
const EXPLICIT_3: u8 = 0xa3;
/// `[1] IMPLICIT` and `[2] IMPLICIT` BIT STRINGs: the issuer's and subject's unique IDs.
const IMPLICIT_1: u8 = 0x81;
const IMPLICIT_2: u8 = 0x82;

// Extension and algorithm identifiers, as their DER content octets.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13]; // 2.5.29.19
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11]; // 2.5.29.17
const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e]; // 2.5.29.14
const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23]; // 2.5.29.35
const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]; // 1.2.840.113549.1.1.1
const EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1
const ED25519: &[u8] = &[0x2b, 0x65, 0x70]; // 1.3.101.112
const ED448: &[u8] = &[0x2b, 0x65, 0x71]; // 1.3.101.113
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]; // 1.2.840.10045.3.1.7
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22]; // 1.3.132.0.34
const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23]; // 1.3.132.0.35

/// One DER element: its identifier octet, its contents and its whole encoding.
#[derive(Clone, Copy, Debug)]
struct Element<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// A cursor over consecutive DER elements; each read names the field it is for.
#[derive(Clone, Copy)]
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    fn any(&mut self, field: &'static str) -> Result<Element<'a>> {
        let input = self.0;
        let bad = X509Error(field);
        let tag = *input.first().ok_or(bad)?;
        let mut at = 1;
        if tag & 0x1f == 0x1f {
            // A tag number above 30 follows in base 128. No field read here has one; an
            // attribute value may, and is then shown as hex.
            loop {
                let octet = *input.get(at).ok_or(bad)?;
                at += 1;
                if octet & 0x80 == 0 {
                    break;
                }
                if at > 5 {
                    return Err(bad);
                }
            }
        }
        let first = *input.get(at).ok_or(bad)?;
        at += 1;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // 0x80 is BER's indefinite length, which DER has not; four octets are far more
            // than a certificate needs.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(bad);
            }
            let octets = input.get(at..at + count).ok_or(bad)?;
            at += count;
            // DER's lengths are minimal: no leading zero octet, the long form only from 128.
            if octets[0] == 0 {
                return Err(bad);
            }
            let len = octets
                .iter()
                .fold(0usize, |len, octet| (len << 8) | usize::from(*octet));
            if len < 0x80 {
                return Err(bad);
            }
            len
        };
        let end = at
            .checked_add(len)
            .filter(|end| *end <= input.len())
            .ok_or(bad)?;
        self.0 = &input[end..];
        Ok(Element {
            tag,
            content: &input[at..end],
            whole: &input[..end],
        })
    }

    /// The next element's contents, which must carry `tag`.
    fn expect(&mut self, tag: u8, field: &'static str) -> Result<&'a [u8]> {
        let element = self.any(field)?;
        if element.tag == tag {
            Ok(element.content)
        } else {
            Err(X509Error(field))
        }
    }

    /// The next element's contents when it carries `tag`, else nothing read.
    fn optional(&mut self, tag: u8, field: &'static str) -> Result<Option<&'a [u8]>> {
        if self.0.first() == Some(&tag) {
            self.expect(tag, field).map(Some)
        } else {
            Ok(None)
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Nothing may follow the last field of a structure.
    fn end(&self, field: &'static str) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(X509Error(field))
        }
    }
}

/// An OBJECT IDENTIFIER, as its DER content octets (checked when read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Oid<'a>(&'a [u8]);

impl<'a> Oid<'a> {
    fn read(content: &'a [u8], field: &'static str) -> Result<Oid<'a>> {
        let bad = X509Error(field);
        // Each arc is base 128, the high bit set on all but its last octet, with no leading
        // 0x80 (DER's minimal form). Arcs up to 128 bits are read: UUID arcs under 2.25 are
        // that long.
        if content.last().is_none_or(|last| last & 0x80 != 0) {
            return Err(bad);
        }
        let mut value: u128 = 0;
        let mut start = true;
        for octet in content {
            if (start && *octet == 0x80) || value > u128::MAX >> 7 {
                return Err(bad);
            }
            value = (value << 7) | u128::from(octet & 0x7f);
            start = octet & 0x80 == 0;
            if start {
                value = 0;
            }
        }
        Ok(Oid(content))
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    fn arcs(&self) -> impl Iterator<Item = u128> + 'a {
        let mut rest = self.0;
        std::iter::from_fn(move || {
            let mut value: u128 = 0;
            while let Some((octet, tail)) = rest.split_first() {
                rest = tail;
                value = (value << 7) | u128::from(octet & 0x7f);
                if octet & 0x80 == 0 {
                    return Some(value);
                }
            }
            None
        })
    }
}

/// Dotted decimal: `2.5.4.3`.
impl fmt::Display for Oid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.arcs().enumerate() {
            if i == 0 {
                // The first subidentifier packs two arcs: 40 × first + second (X.690 §8.19.4).
                let first = arc.min(80) / 40;
                write!(f, "{first}.{}", arc - first * 40)?;
            } else {
                write!(f, ".{arc}")?;
            }
        }
        Ok(())
    }
}

/// One attribute of a name: `CN=…` is type 2.5.4.3 with a string value.
#[derive(Clone, Copy, Debug)]
pub struct Attribute<'a> {
    pub kind: Oid<'a>,
    /// The value's identifier octet: which string type it is (UTF8String is 0x0c).
    pub tag: u8,
    /// The value's content octets.
    pub value: &'a [u8],
}

/// A distinguished name: relative distinguished names, each one or more attributes, in the
/// certificate's order.
#[derive(Clone, Debug)]
pub struct Name<'a> {
    der: &'a [u8],
    rdns: Vec<Vec<Attribute<'a>>>,
}

impl<'a> Name<'a> {
    fn read(element: Element<'a>, field: &'static str) -> Result<Name<'a>> {
        if element.tag != SEQUENCE {
            return Err(X509Error(field));
        }
        let mut rdns = Vec::new();
        let mut sets = Der(element.content);
        while !sets.is_empty() {
            let mut attributes = Der(sets.expect(SET, field)?);
            let mut rdn = Vec::new();
            while !attributes.is_empty() {
                let mut pair = Der(attributes.expect(SEQUENCE, field)?);
                let kind = Oid::read(pair.expect(OID, field)?, field)?;
                let value = pair.any(field)?;
                pair.end(field)?;
                rdn.push(Attribute {
                    kind,
                    tag: value.tag,
                    value: value.content,
                });
            }
            rdns.push(rdn);
        }
        Ok(Name {
            der: element.whole,
            rdns,
        })
    }

    /// Reads one DER Name; bytes after it are left alone.
    pub fn from_der(der: &'a [u8]) -> Result<Name<'a>> {
        Name::read(Der(der).any("malformed name")?, "malformed name")
    }

    /// The name's whole DER encoding: two names are the same name when these are equal.
    pub fn as_raw(&self) -> &'a [u8] {
        self.der
    }

    pub fn rdns(&self) -> &[Vec<Attribute<'a>>] {
        &self.rdns
    }
}

/// One name from a subjectAltName extension (RFC 5280 §4.2.1.6).
#[derive(Clone, Debug)]
pub enum GeneralName<'a> {
    Other,
    Email(&'a [u8]),
    Dns(&'a [u8]),
    X400,
    Directory(Name<'a>),
    EdiParty,
    Uri(&'a [u8]),
    /// Four octets for IPv4, sixteen for IPv6 (other lengths are kept as they came).
    Ip(&'a [u8]),
    RegisteredId(Oid<'a>),
}

/// The subject's public key: its algorithm, the algorithm's parameters and the key itself.
#[derive(Clone, Copy, Debug)]
pub struct PublicKeyInfo<'a> {
    algorithm: Oid<'a>,
    parameters: Option<Element<'a>>,
    /// The subjectPublicKey BIT STRING's contents: its unused-bits octet, then the key.
    key: &'a [u8],
}

impl PublicKeyInfo<'_> {
    /// `EC P-256`, `RSA 4096`, `Ed25519`; `unknown (<OID>)` for an algorithm not named here or
    /// an RSA key that cannot be read.
    pub fn describe(&self) -> String {
        match self.algorithm.as_bytes() {
            RSA => match self.rsa_modulus_bits() {
                Some(bits) => format!("RSA {bits}"),
                None => format!("unknown ({})", self.algorithm),
            },
            EC => {
                let curve = self
                    .parameters
                    .filter(|p| p.tag == OID)
                    .and_then(|p| Oid::read(p.content, "parameters").ok());
                match curve {
                    Some(curve) => match curve.as_bytes() {
                        P256 => "EC P-256".to_string(),
                        P384 => "EC P-384".to_string(),
                        P521 => "EC P-521".to_string(),
                        _ => format!("EC {curve}"),
                    },
                    None => "EC".to_string(),
                }
            }
            ED25519 => "Ed25519".to_string(),
            ED448 => "Ed448".to_string(),
            _ => format!("unknown ({})", self.algorithm),
        }
    }

    /// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1):
    /// the modulus's length in bits.
    fn rsa_modulus_bits(&self) -> Option<usize> {
        let (&unused, key) = self.key.split_first()?;
        if unused != 0 {
            return None;
        }
        let mut outer = Der(key);
        let mut fields = Der(outer.expect(SEQUENCE, "RSA key").ok()?);
        outer.end("RSA key").ok()?;
        let modulus = fields.expect(INTEGER, "RSA key").ok()?;
        fields.expect(INTEGER, "RSA key").ok()?;
        fields.end("RSA key").ok()?;
        let significant = modulus.iter().position(|octet| *octet != 0)?;
        let top = modulus[significant];
        Some((modulus.len() - significant - 1) * 8 + (8 - top.leading_zeros() as usize))
    }
}

/// One extension: its identifier and its value's DER. Whether it is critical is read and
/// checked, not kept: nothing here acts on it.
#[derive(Clone, Copy, Debug)]
struct Extension<'a> {
    id: Oid<'a>,
    value: &'a [u8],
}

/// The certificate's fields the handshake reads.
#[derive(Clone, Debug)]
pub struct Certificate<'a> {
    /// 1, 2 or 3.
    pub version: u8,
    /// The serial number's content octets (`00` for RKE2's serial 0).
    pub serial: &'a [u8],
    pub issuer: Name<'a>,
    pub subject: Name<'a>,
    /// Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    pub public_key: PublicKeyInfo<'a>,
    extensions: Vec<Extension<'a>>,
}

impl<'a> Certificate<'a> {
    /// Reads one DER certificate; bytes after it are left alone.
    pub fn from_der(der: &'a [u8]) -> Result<Certificate<'a>> {
        let mut outer = Der(der);
        let mut certificate = Der(outer.expect(SEQUENCE, "not a certificate (no SEQUENCE)")?);
        let mut tbs = Der(certificate.expect(SEQUENCE, "malformed tbsCertificate")?);
        certificate.expect(SEQUENCE, "malformed signatureAlgorithm")?;
        certificate.expect(BIT_STRING, "malformed signatureValue")?;
        certificate.end("data after the signature")?;

        let version = match tbs.optional(EXPLICIT_0, "malformed version")? {
            None => 1,
            Some(explicit) => {
                let mut inner = Der(explicit);
                let value = inner.expect(INTEGER, "malformed version")?;
                inner.end("malformed version")?;
                match value {
                    [0] => 1,
                    [1] => 2,
                    [2] => 3,
                    _ => return Err(X509Error("the version is not 1, 2 or 3")),
                }
            }
        };
        let serial = tbs.expect(INTEGER, "malformed serialNumber")?;
        if serial.is_empty() {
            return Err(X509Error("malformed serialNumber"));
        }
        tbs.expect(SEQUENCE, "malformed signature algorithm")?;
        let issuer = Name::read(tbs.any("malformed issuer")?, "malformed issuer")?;
        let mut validity = Der(tbs.expect(SEQUENCE, "malformed validity")?);
        let not_before = time(validity.any("malformed notBefore")?, "malformed notBefore")?;
        let not_after = time(validity.any("malformed notAfter")?, "malformed notAfter")?;
        validity.end("malformed validity")?;
        let subject = Name::read(tbs.any("malformed subject")?, "malformed subject")?;
        let public_key = public_key_info(tbs.expect(SEQUENCE, "malformed subjectPublicKeyInfo")?)?;
        tbs.optional(IMPLICIT_1, "malformed issuerUniqueID")?;
        tbs.optional(IMPLICIT_2, "malformed subjectUniqueID")?;
        let extensions = match tbs.optional(EXPLICIT_3, "malformed extensions")? {
            Some(explicit) => extensions(explicit)?,
            None => Vec::new(),
        };
        tbs.end("data after the extensions")?;
        Ok(Certificate {
            version,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            public_key,
            extensions,
        })
    }

    /// The value of the one extension with this identifier; none when it is absent or, against
    /// RFC 5280 §4.2, present twice.
    fn unique_extension(&self, id: &[u8]) -> Option<&'a [u8]> {
        let mut found = self.extensions.iter().filter(|e| e.id.as_bytes() == id);
        let first = found.next()?;
        found.next().is_none().then_some(first.value)
    }

    /// basicConstraints says `cA: TRUE`. A missing, duplicated or malformed extension says no.
    pub fn is_ca(&self) -> bool {
        let Some(value) = self.unique_extension(BASIC_CONSTRAINTS) else {
            return false;
        };
        let mut outer = Der(value);
        let Ok(fields) = outer.expect(SEQUENCE, "basicConstraints") else {
            return false;
        };
        let mut fields = Der(fields);
        matches!(
            fields.optional(BOOLEAN, "basicConstraints"),
            Ok(Some([0xff]))
        ) && outer.is_empty()
    }

    /// The subjectAltName extension's names; none when it is absent, duplicated or malformed.
    pub fn subject_alt_names(&self) -> Option<Vec<GeneralName<'a>>> {
        let value = self.unique_extension(SUBJECT_ALT_NAME)?;
        let mut outer = Der(value);
        let mut names = Der(outer.expect(SEQUENCE, "subjectAltName").ok()?);
        outer.end("subjectAltName").ok()?;
        let mut out = Vec::new();
        while !names.is_empty() {
            let name = names.any("subjectAltName").ok()?;
            out.push(match name.tag {
                0xa0 => GeneralName::Other,
                0x81 => GeneralName::Email(name.content),
                0x82 => GeneralName::Dns(name.content),
                0xa3 => GeneralName::X400,
                0xa4 => {
                    // `[4] EXPLICIT Name`.
                    let mut inner = Der(name.content);
                    let dn = Name::read(inner.any("directoryName").ok()?, "directoryName").ok()?;
                    inner.end("directoryName").ok()?;
                    GeneralName::Directory(dn)
                }
                0xa5 => GeneralName::EdiParty,
                0x86 => GeneralName::Uri(name.content),
                0x87 => GeneralName::Ip(name.content),
                0x88 => GeneralName::RegisteredId(Oid::read(name.content, "registeredID").ok()?),
                _ => return None,
            });
        }
        Some(out)
    }

    /// authorityKeyIdentifier's keyIdentifier (`[0] IMPLICIT OCTET STRING`), when there is one.
    pub fn authority_key_id(&self) -> Option<&'a [u8]> {
        let value = self.first_extension(AUTHORITY_KEY_ID)?;
        let mut outer = Der(value);
        let mut fields = Der(outer.expect(SEQUENCE, "authorityKeyIdentifier").ok()?);
        fields.optional(0x80, "authorityKeyIdentifier").ok()?
    }

    /// subjectKeyIdentifier's octets, when there is one.
    pub fn subject_key_id(&self) -> Option<&'a [u8]> {
        let value = self.first_extension(SUBJECT_KEY_ID)?;
        let mut outer = Der(value);
        let id = outer.expect(OCTET_STRING, "subjectKeyIdentifier").ok()?;
        outer.is_empty().then_some(id)
    }

    fn first_extension(&self, id: &[u8]) -> Option<&'a [u8]> {
        self.extensions
            .iter()
            .find(|e| e.id.as_bytes() == id)
            .map(|e| e.value)
    }
}

fn public_key_info(content: &[u8]) -> Result<PublicKeyInfo<'_>> {
    const FIELD: &str = "malformed subjectPublicKeyInfo";
    let mut info = Der(content);
    let mut algorithm = Der(info.expect(SEQUENCE, FIELD)?);
    let id = Oid::read(algorithm.expect(OID, FIELD)?, FIELD)?;
    let parameters = if algorithm.is_empty() {
        None
    } else {
        Some(algorithm.any(FIELD)?)
    };
    algorithm.end(FIELD)?;
    let key = info.expect(BIT_STRING, FIELD)?;
    info.end(FIELD)?;
    if key.first().is_none_or(|unused| *unused > 7) {
        return Err(X509Error(FIELD));
    }
    Ok(PublicKeyInfo {
        algorithm: id,
        parameters,
        key,
    })
}

/// Extensions ::= SEQUENCE SIZE (1..MAX) OF SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }.
fn extensions(explicit: &[u8]) -> Result<Vec<Extension<'_>>> {
    const FIELD: &str = "malformed extensions";
    let mut outer = Der(explicit);
    let mut list = Der(outer.expect(SEQUENCE, FIELD)?);
    outer.end(FIELD)?;
    let mut out = Vec::new();
    while !list.is_empty() {
        let mut extension = Der(list.expect(SEQUENCE, FIELD)?);
        let id = Oid::read(extension.expect(OID, FIELD)?, FIELD)?;
        // DER's booleans are 0x00 and 0xff.
        if let Some(critical) = extension.optional(BOOLEAN, FIELD)? {
            if critical != [0x00] && critical != [0xff] {
                return Err(X509Error(FIELD));
            }
        }
        let value = extension.expect(OCTET_STRING, FIELD)?;
        extension.end(FIELD)?;
        out.push(Extension { id, value });
    }
    Ok(out)
}

/// A validity time as Unix seconds: UTCTime `YYMMDDHHMM[SS]` (years 1950-2049) or
/// GeneralizedTime `YYYYMMDDHHMMSS[.fff]`, each in UTC (`Z`) or with a `±HHMM` offset. RFC 5280
/// §4.1.2.5 asks for `Z` and whole seconds; the rest is read as Go's and OpenSSL's parsers do.
fn time(element: Element<'_>, field: &'static str) -> Result<i64> {
    let bad = X509Error(field);
    let text = element.content;
    let (year, rest) = match element.tag {
        UTC_TIME => {
            let yy = i64::from(digits(text.get(..2).ok_or(bad)?).ok_or(bad)?);
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        GENERALIZED_TIME => (
            i64::from(digits(text.get(..4).ok_or(bad)?).ok_or(bad)?),
            &text[4..],
        ),
        _ => return Err(bad),
    };
    let two = |at: usize| rest.get(at..at + 2).and_then(digits).ok_or(bad);
    let (month, day, hour, minute) = (two(0)?, two(2)?, two(4)?, two(6)?);
    let mut rest = &rest[8..];
    let mut second = 0;
    if rest.first().is_some_and(u8::is_ascii_digit) {
        second = rest.get(..2).and_then(digits).ok_or(bad)?;
        rest = &rest[2..];
        if element.tag == GENERALIZED_TIME && rest.first() == Some(&b'.') {
            // Fractions of a second: read, then dropped (the report works in whole seconds).
            let fraction = rest[1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if fraction == 0 {
                return Err(bad);
            }
            rest = &rest[1 + fraction..];
        }
    } else if element.tag == GENERALIZED_TIME {
        return Err(bad);
    }
    let offset = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] if zone.len() == 4 => {
            let (hours, minutes) = (
                zone.get(..2).and_then(digits).ok_or(bad)?,
                zone.get(2..).and_then(digits).ok_or(bad)?,
            );
            if hours > 23 || minutes > 59 {
                return Err(bad);
            }
            let seconds = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'+' {
                seconds
            } else {
                -seconds
            }
        }
        _ => return Err(bad),
    };
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad);
    }
    Ok(
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second)
            - offset,
    )
}

fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |value, b| {
        b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0'))
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse, counted in
/// 400-year eras of 146,097 days).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else if len < 0x100 {
            out.extend([0x81, len as u8]);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    }

    fn read_time(tag: u8, text: &str) -> Result<i64> {
        let der = tlv(tag, text.as_bytes());
        time(Der(&der).any("t").unwrap(), "t")
    }

    #[test]
    fn times_read_as_unix_seconds() {
        assert_eq!(read_time(UTC_TIME, "700101000000Z"), Ok(0));
        assert_eq!(read_time(UTC_TIME, "491231235959Z"), Ok(2_524_607_999));
        assert_eq!(read_time(UTC_TIME, "500101000000Z"), Ok(-631_152_000));
        assert_eq!(read_time(UTC_TIME, "3506101111Z"), Ok(2_065_086_660));
        assert_eq!(
            read_time(GENERALIZED_TIME, "20500101000000Z"),
            Ok(2_524_608_000)
        );
        assert_eq!(
            read_time(GENERALIZED_TIME, "20500101000000.25Z"),
            Ok(2_524_608_000)
        );
        assert_eq!(read_time(UTC_TIME, "700101010000+0100"), Ok(0));
        assert_eq!(
            read_time(GENERALIZED_TIME, "20240229120000Z"),
            Ok(1_709_208_000)
        );
        assert_eq!(
            read_time(GENERALIZED_TIME, "99991231235959Z"),
            Ok(253_402_300_799)
        );
        for (tag, bad) in [
            (UTC_TIME, "700101000000"),
            (UTC_TIME, "701301000000Z"),
            (UTC_TIME, "700230000000Z"),
            (UTC_TIME, "700101240000Z"),
            (UTC_TIME, "700101000060Z"),
            (UTC_TIME, "7001010000+0100Z"),
            (UTC_TIME, "70010100000Z"),
            (GENERALIZED_TIME, "202402300000Z"),
            (GENERALIZED_TIME, "20230229000000Z"),
            (GENERALIZED_TIME, "20240101000000.Z"),
            (GENERALIZED_TIME, "2024010100000Z"),
            (OCTET_STRING, "700101000000Z"),
            (UTC_TIME, ""),
            (UTC_TIME, "7001010000-2400"),
        ] {
            assert!(read_time(tag, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lengths_are_definite_minimal_and_inside_the_input() {
        assert!(
            Der(&[0x30, 0x80, 0x00, 0x00]).any("x").is_err(),
            "indefinite"
        );
        assert!(
            Der(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).any("x").is_err(),
            "long form for 5"
        );
        assert!(
            Der(&[0x04, 0x82, 0x00, 0x80]).any("x").is_err(),
            "leading zero"
        );
        assert!(Der(&[0x04, 0x03, 1, 2]).any("x").is_err(), "past the end");
        assert!(
            Der(&[0x04, 0x85, 1, 0, 0, 0, 0]).any("x").is_err(),
            "five length octets"
        );
        assert!(Der(&[0x04]).any("x").is_err(), "no length");
        let long = tlv(OCTET_STRING, &[7; 200]);
        let element = Der(&long).any("x").unwrap();
        assert_eq!((element.tag, element.content.len()), (OCTET_STRING, 200));
        let high_tag = [0x1f, 0x81, 0x01, 0x01, 0xaa];
        assert_eq!(Der(&high_tag).any("x").unwrap().content, &[0xaa]);
    }

    #[test]
    fn oids_print_as_dotted_decimal_and_must_be_minimal() {
        let show = |bytes: &[u8]| Oid::read(bytes, "oid").map(|o| o.to_string());
        assert_eq!(show(&[0x55, 0x04, 0x03]).unwrap(), "2.5.4.3");
        assert_eq!(show(RSA).unwrap(), "1.2.840.113549.1.1.1");
        assert_eq!(show(&[0x28]).unwrap(), "1.0");
        assert_eq!(show(&[0x81, 0x34, 0x03]).unwrap(), "2.100.3");
        // 2.25 and the largest 128-bit UUID arc, then one past it.
        let mut uuid = vec![0x69, 0x83];
        uuid.extend([0xff; 17]);
        uuid.push(0x7f);
        assert_eq!(
            show(&uuid).unwrap(),
            format!("2.25.{}", u128::MAX),
            "a UUID arc is read whole"
        );
        uuid[1] = 0x84;
        assert!(show(&uuid).is_err(), "over 128 bits");
        assert!(show(&[]).is_err());
        assert!(show(&[0x55, 0x84]).is_err(), "ends inside an arc");
        assert!(show(&[0x55, 0x80, 0x01]).is_err(), "not minimal");
    }

    #[test]
    fn days_from_civil_counts_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
    }
}
