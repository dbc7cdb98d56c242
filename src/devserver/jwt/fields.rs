//! Request fields of the jwt plugin's paths, read with Vault's weak typing: the framework's
//! field types, the conversions it applies to JSON values, and its error texts.
//!
//! Pure: no storage, no clock; the config and role writers call it.

use super::*;

/// The framework field types the jwt plugin's paths use.
#[derive(Clone, Copy)]
pub(super) enum FieldType {
    Str,
    LowerStr,
    CommaList,
    Bool,
    Int,
    DurationSecond,
    SignedDurationSecond,
    Map,
    KvPairs,
    Slice,
}

pub(super) enum FieldValue {
    Str(String),
    List(Vec<String>),
    Bool(bool),
    Int(i64),
    Map(Map<String, Value>),
    Kv(BTreeMap<String, String>),
    Slice(Vec<Value>),
}

/// A request body after Vault's `FieldData.Validate`: every known field converted once, before
/// the handler runs (so a type error wins over every handler check). No `Debug`: a login body's
/// `jwt` sits here until it is moved into a [`Secret`].
pub(super) struct Fields {
    pub(super) values: BTreeMap<&'static str, FieldValue>,
    pub(super) unknown: Vec<String>,
}

impl Fields {
    pub(super) fn parse(
        body: &Value,
        schema: &[(&'static str, FieldType)],
    ) -> Result<Self, VaultError> {
        let empty = Map::new();
        let map = match body {
            Value::Object(map) => map,
            Value::Null => &empty,
            other => {
                return Err(VaultError::bad_request(format!(
                    "failed to parse JSON input: json: cannot unmarshal {} into Go value of type \
                     map[string]interface {{}}",
                    json_kind(other)
                )))
            }
        };
        let mut values = BTreeMap::new();
        for &(name, kind) in schema {
            let Some(raw) = map.get(name) else { continue };
            let value = convert_field(raw, kind).map_err(|detail| {
                VaultError::bad_request(format!(
                    "Field validation failed: error converting input for field {}: {detail}",
                    go_quote(name)
                ))
            })?;
            values.insert(name, value);
        }
        let mut unknown: Vec<String> = map
            .keys()
            .filter(|key| !schema.iter().any(|(name, _)| name == key))
            .cloned()
            .collect();
        unknown.sort();
        Ok(Fields { values, unknown })
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    pub(super) fn str(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(FieldValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn take_str(&mut self, name: &str) -> Option<String> {
        match self.values.remove(name) {
            Some(FieldValue::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub(super) fn list(&self, name: &str) -> Option<&[String]> {
        match self.values.get(name) {
            Some(FieldValue::List(l)) => Some(l),
            _ => None,
        }
    }

    pub(super) fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name) {
            Some(FieldValue::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub(super) fn int(&self, name: &str) -> Option<i64> {
        match self.values.get(name) {
            Some(FieldValue::Int(i)) => Some(*i),
            _ => None,
        }
    }

    /// A `TypeDurationSecond` field, known non-negative after conversion.
    pub(super) fn secs(&self, name: &str) -> Option<u64> {
        self.int(name).map(|i| u64::try_from(i).unwrap_or(0))
    }

    pub(super) fn map(&self, name: &str) -> Option<&Map<String, Value>> {
        match self.values.get(name) {
            Some(FieldValue::Map(m)) => Some(m),
            _ => None,
        }
    }

    pub(super) fn kv(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        match self.values.get(name) {
            Some(FieldValue::Kv(m)) => Some(m),
            _ => None,
        }
    }

    pub(super) fn slice(&self, name: &str) -> Option<&[Value]> {
        match self.values.get(name) {
            Some(FieldValue::Slice(s)) => Some(s),
            _ => None,
        }
    }
}

pub(super) fn convert_field(raw: &Value, kind: FieldType) -> Result<FieldValue, String> {
    Ok(match kind {
        FieldType::Str => FieldValue::Str(weak_string(raw, "string")?),
        FieldType::LowerStr => FieldValue::Str(weak_string(raw, "string")?.to_lowercase()),
        FieldType::CommaList => FieldValue::List(weak_comma_list(raw)?),
        FieldType::Bool => FieldValue::Bool(weak_bool(raw)?),
        FieldType::Int => FieldValue::Int(weak_int(raw)?),
        FieldType::DurationSecond => {
            let secs = parse_duration_seconds(raw)?;
            if secs < 0 {
                return Err("cannot provide negative value".to_string());
            }
            FieldValue::Int(secs)
        }
        FieldType::SignedDurationSecond => FieldValue::Int(parse_duration_seconds(raw)?),
        FieldType::Map => match raw {
            Value::Object(m) => FieldValue::Map(m.clone()),
            Value::Null => FieldValue::Map(Map::new()),
            other => return Err(format!("'' expected a map, got '{}'", go_kind(other))),
        },
        FieldType::KvPairs => FieldValue::Kv(weak_kv_pairs(raw)?),
        FieldType::Slice => match raw {
            Value::Array(items) => FieldValue::Slice(items.clone()),
            Value::Null => FieldValue::Slice(Vec::new()),
            Value::Object(_) => {
                return Err("'' source data must be an array or slice, got map".to_string())
            }
            single => FieldValue::Slice(vec![single.clone()]),
        },
    })
}

/// mapstructure's weak decode to a string (what `TypeString` does).
pub(super) fn weak_string(raw: &Value, target: &str) -> Result<String, String> {
    match raw {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_string()),
        Value::Null => Ok(String::new()),
        other => Err(format!(
            "'' expected type '{target}', got unconvertible type '{}'",
            go_kind(other)
        )),
    }
}

/// `TypeCommaStringSlice`: a comma-separated string or a list, each item trimmed.
pub(super) fn weak_comma_list(raw: &Value) -> Result<Vec<String>, String> {
    let items = match raw {
        Value::Null => Vec::new(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| weak_string(item, "string"))
            .collect::<Result<_, _>>()?,
        Value::Object(_) => {
            return Err("'' source data must be an array or slice, got map".to_string())
        }
        single => vec![weak_string(single, "string")?],
    };
    Ok(items.into_iter().map(|s| s.trim().to_string()).collect())
}

pub(super) fn weak_bool(raw: &Value) -> Result<bool, String> {
    match raw {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::String(s) if s.is_empty() => Ok(false),
        Value::String(s) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(format!(
                "cannot parse '' as bool: strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(s)
            )),
        },
        other => Err(format!(
            "'' expected type 'bool', got unconvertible type '{}'",
            go_kind(other)
        )),
    }
}

pub(super) fn weak_int(raw: &Value) -> Result<i64, String> {
    let text = match raw {
        Value::Null => return Ok(0),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => return Ok(0),
        Value::String(s) => s.clone(),
        _ => return Err("could not parse value from input".to_string()),
    };
    text.parse::<i64>().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(&text)
        )
    })
}

/// `TypeKVPairs`: an object of strings, or a list of `key=value` strings.
pub(super) fn weak_kv_pairs(raw: &Value) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    match raw {
        Value::Null => {}
        Value::Object(map) => {
            for (key, value) in map {
                out.insert(key.clone(), weak_string(value, "string")?);
            }
        }
        Value::Array(items) => {
            for item in items {
                let pair = weak_string(item, "string")?;
                let Some((key, value)) = pair.split_once('=') else {
                    return Err(format!("invalid key value pair {}", go_quote(&pair)));
                };
                out.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
        other => return Err(format!("'' expected a map, got '{}'", go_kind(other))),
    }
    Ok(out)
}

/// A duration field as Vault reads it (`parseutil.ParseDurationSecond`, then whole seconds
/// toward zero): a number or an integer string is seconds, `<n>d` is days, anything else is a
/// Go duration (`90s`, `15m`, `1h30m`, `1.5h`). Numbers go through their JSON text like Vault's
/// `json.Number`, so `1.5` is refused (missing unit) as Vault refuses it.
pub fn parse_duration_seconds(raw: &Value) -> Result<i64, String> {
    match raw {
        Value::Null => Ok(0),
        Value::Number(n) => parse_duration_second_str(&n.to_string()),
        Value::String(s) => parse_duration_second_str(s),
        _ => Err("could not parse duration from input".to_string()),
    }
}

pub(super) fn parse_duration_second_str(s: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    if let Some(days) = s.strip_suffix('d') {
        let invalid = || {
            format!(
                "strconv.ParseInt: parsing {}: invalid syntax",
                go_quote(days)
            )
        };
        let days = days.parse::<i64>().map_err(|_| invalid())?;
        return days.checked_mul(86_400).ok_or_else(invalid);
    }
    let nanos = parse_go_duration(s)?;
    // Go's `int(d.Seconds())` truncates toward zero.
    Ok((nanos / 1_000_000_000) as i64)
}

/// Go's `time.ParseDuration`, in nanoseconds, with its error texts.
pub(super) fn parse_go_duration(orig: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if first != b'.' && !first.is_ascii_digit() {
            return Err(invalid());
        }
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let whole: u128 = if int_len > 0 {
            s[..int_len].parse::<u64>().map_err(|_| invalid())?.into()
        } else {
            0
        };
        s = &s[int_len..];
        let (mut frac, mut scale, mut frac_len) = (0u128, 1u128, 0usize);
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            frac_len = s.bytes().take_while(u8::is_ascii_digit).count();
            for digit in s[..frac_len].bytes() {
                // Go stops accumulating digits that would overflow; 18 digits is well below it.
                if scale < 1_000_000_000_000_000_000 {
                    frac = frac * 10 + u128::from(digit - b'0');
                    scale *= 10;
                }
            }
            s = &s[frac_len..];
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let unit = &s[..unit_len];
        let nanos_per_unit: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ))
            }
        };
        s = &s[unit_len..];
        total += whole * nanos_per_unit + frac * nanos_per_unit / scale;
        if total > i64::MAX as u128 + u128::from(negative) {
            return Err(invalid());
        }
    }
    let total = total as i128;
    Ok(if negative { -total } else { total })
}

/// Go's `time.Duration.String()` for whole seconds (`768h0m0s`, `1m30s`, `45s`, `0s`).
pub(super) fn go_duration_string(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// Go's `%q` for the strings that appear in Vault's messages.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 || u32::from(c) == 0x7f => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Roughly Go's `%v` of a decoded JSON value (`map[a:b]`, `[a b]`, `<nil>`).
pub(super) fn go_fmt(value: &Value) -> String {
    match value {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(go_fmt).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_fmt(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// The Go type name mapstructure reports for a decoded JSON value.
pub(super) fn go_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "json.Number",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// The JSON kind encoding/json names in its unmarshal errors.
pub(super) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
