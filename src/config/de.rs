//! A serde `Deserializer` over a `toml::Value` tree that records the full dotted key of every error (what `serde_path_to_error` would give), so messages can say `unknown key 'mqtt.sesion'`.

use std::collections::HashMap;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use toml::Value;

/// Deserializes `T` from `value`. `env_raw` maps dotted keys set by environment variables to the
/// variable's raw text: a string-typed key set from the environment to something that parsed as
/// TOML (`EMQTTD_NODE__NAME=1`) still gets its text.
pub(crate) fn from_value<'de, T: de::Deserialize<'de>>(
    value: &'de Value,
    env_raw: &'de HashMap<String, String>,
) -> Result<T, DeError> {
    T::deserialize(ValueDe {
        value,
        path: String::new(),
        env_raw,
    })
}

/// Joins a dotted key path, quoting segments that are not bare TOML keys.
pub(crate) fn join_key(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let seg = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        seg
    } else {
        format!("{parent}.{seg}")
    }
}

/// A deserialization error with the dotted key it concerns (`None` until located).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DeError {
    pub path: Option<String>,
    pub kind: DeErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DeErrorKind {
    /// `path` names a key the section does not have; `expected` lists the keys it has.
    UnknownKey { expected: &'static [&'static str] },
    /// `message` reads "expected ..."; `found` describes the offending value.
    Invalid {
        message: String,
        found: Option<String>,
    },
}

impl DeError {
    fn invalid(message: String) -> Self {
        DeError {
            path: None,
            kind: DeErrorKind::Invalid {
                message,
                found: None,
            },
        }
    }

    /// Attaches the innermost key (and a description of its value) if none is attached yet.
    fn locate(mut self, path: &str, value: Option<&Value>) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
            if let (
                DeErrorKind::Invalid {
                    found: found @ None,
                    ..
                },
                Some(v),
            ) = (&mut self.kind, value)
            {
                *found = Some(describe(v));
            }
        }
        self
    }

    /// The message without the key: "expected ..., found ...", or the key list for unknown keys.
    pub fn message(&self) -> String {
        match &self.kind {
            DeErrorKind::UnknownKey { expected } => {
                format!("expected one of: {}", expected.join(", "))
            }
            DeErrorKind::Invalid {
                message,
                found: Some(found),
            } => format!("{message}, found {found}"),
            DeErrorKind::Invalid {
                message,
                found: None,
            } => message.clone(),
        }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.kind, self.path.as_deref()) {
            (DeErrorKind::UnknownKey { .. }, Some(p)) => {
                write!(f, "unknown key '{p}' ({})", self.message())
            }
            (_, Some(p)) if !p.is_empty() => write!(f, "key '{p}': {}", self.message()),
            _ => f.write_str(&self.message()),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::invalid(msg.to_string())
    }
    fn invalid_type(_unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!("expected {}", friendly(&exp.to_string())))
    }
    fn invalid_value(_unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!("expected {}", friendly(&exp.to_string())))
    }
    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        DeError::invalid(format!(
            "expected {}, found {len} elements",
            friendly(&exp.to_string())
        ))
    }
    fn unknown_field(_field: &str, expected: &'static [&'static str]) -> Self {
        DeError {
            path: None,
            kind: DeErrorKind::UnknownKey { expected },
        }
    }
    fn missing_field(field: &'static str) -> Self {
        DeError::invalid(format!("missing key '{field}'"))
    }
}

/// Turns serde's Rust-flavoured expectations ("usize", "struct MqttConfig") into config words.
fn friendly(expected: &str) -> String {
    match expected {
        "usize" | "u64" | "u128" => "a non-negative integer".into(),
        "u32" => "a non-negative integer up to 4294967295".into(),
        "u16" => "a non-negative integer up to 65535".into(),
        "u8" => "a non-negative integer up to 255".into(),
        "isize" | "i64" | "i32" | "i16" | "i8" => "an integer".into(),
        "f64" | "f32" => "a number".into(),
        "path string" => "a path string".into(),
        "a map" => "a table".into(),
        s if s.starts_with("struct ") => "a table".into(),
        s => s.into(),
    }
}

/// "string \"x\"", "integer 5", "a table", ...
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(x) => format!("float {x}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".into(),
        Value::Table(_) => "a table".into(),
    }
}

struct ValueDe<'de> {
    value: &'de Value,
    path: String,
    env_raw: &'de HashMap<String, String>,
}

impl<'de> Deserializer<'de> for ValueDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let result = match self.value {
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Integer(i) => visitor.visit_i64(*i),
            Value::Float(x) => visitor.visit_f64(*x),
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::Datetime(d) => visitor.visit_string(d.to_string()),
            Value::Array(items) => visitor.visit_seq(SeqDe {
                iter: items.iter().enumerate(),
                path: &self.path,
                env_raw: self.env_raw,
            }),
            Value::Table(table) => visitor.visit_map(MapDe {
                iter: table.iter(),
                pending: None,
                path: &self.path,
                env_raw: self.env_raw,
            }),
        };
        result.map_err(|e| e.locate(&self.path, Some(self.value)))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match (self.value, self.env_raw.get(&self.path)) {
            (Value::String(_), _) | (Value::Array(_) | Value::Table(_), _) | (_, None) => {
                self.deserialize_any(visitor)
            }
            (value, Some(raw)) => visitor
                .visit_borrowed_str(raw)
                .map_err(|e: DeError| e.locate(&self.path, Some(value))),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Unit variants written as strings: `mode = "simple"`.
        match self.value {
            Value::String(s) => visitor
                .visit_enum(s.as_str().into_deserializer())
                .map_err(|e: DeError| e.locate(&self.path, Some(self.value))),
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct MapDe<'de, 'p> {
    iter: toml::map::Iter<'de>,
    pending: Option<(&'de String, &'de Value)>,
    path: &'p str,
    env_raw: &'de HashMap<String, String>,
}

impl<'de> MapAccess<'de> for MapDe<'de, '_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        seed.deserialize(KeyDe(key))
            .map(Some)
            .map_err(|e| e.locate(&join_key(self.path, key), None))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let Some((key, value)) = self.pending.take() else {
            return Err(DeError::invalid(
                "internal error: value requested before key".into(),
            ));
        };
        seed.deserialize(ValueDe {
            value,
            path: join_key(self.path, key),
            env_raw: self.env_raw,
        })
    }
}

struct SeqDe<'de, 'p> {
    iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'p str,
    env_raw: &'de HashMap<String, String>,
}

impl<'de> SeqAccess<'de> for SeqDe<'de, '_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let Some((i, value)) = self.iter.next() else {
            return Ok(None);
        };
        seed.deserialize(ValueDe {
            value,
            path: format!("{}[{i}]", self.path),
            env_raw: self.env_raw,
        })
        .map(Some)
    }
}

/// A table key, offered as a string (to struct field identifiers and map keys alike).
struct KeyDe<'de>(&'de str);

impl<'de> Deserializer<'de> for KeyDe<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_borrowed_str(self.0)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        n: usize,
        s: String,
        b: bool,
        list: Vec<u32>,
    }

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Outer {
        inner: Inner,
        map: BTreeMap<String, Inner>,
        x: f64,
    }

    fn parse(text: &str) -> Result<Outer, DeError> {
        let value: Value = toml::from_str(text).unwrap();
        let env = HashMap::new();
        from_value(&value, &env)
    }

    #[test]
    fn ok_and_defaults() {
        let o = parse("x = 1\n[inner]\nn = 3\nlist = [1, 2]\n[map.a]\ns = \"hi\"").unwrap();
        assert_eq!(o.x, 1.0);
        assert_eq!(
            o.inner,
            Inner {
                n: 3,
                list: vec![1, 2],
                ..Inner::default()
            }
        );
        assert_eq!(o.map["a"].s, "hi");
    }

    #[test]
    fn unknown_keys_have_full_paths() {
        let e = parse("[inner]\nnn = 3").unwrap_err();
        assert_eq!(e.path.as_deref(), Some("inner.nn"));
        assert_eq!(
            e.kind,
            DeErrorKind::UnknownKey {
                expected: &["n", "s", "b", "list"]
            }
        );
        let e = parse("[map.\"a.b\"]\nzz = 1").unwrap_err();
        assert_eq!(e.path.as_deref(), Some("map.\"a.b\".zz"));
        let e = parse("top = 1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown key 'top' (expected one of: inner, map, x)"
        );
    }

    #[test]
    fn wrong_types_name_key_expected_and_found() {
        let e = parse("[inner]\nn = \"three\"").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'inner.n': expected a non-negative integer, found string \"three\""
        );
        let e = parse("[inner]\nn = -1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'inner.n': expected a non-negative integer, found integer -1"
        );
        let e = parse("[map.a]\nb = 1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'map.a.b': expected a boolean, found integer 1"
        );
        let e = parse("inner = 5").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'inner': expected a table, found integer 5"
        );
        let e = parse("[inner]\nlist = [1, \"x\"]").unwrap_err();
        assert_eq!(e.to_string(), "key 'inner.list[1]': expected a non-negative integer up to 4294967295, found string \"x\"");
        let e = parse("x = true").unwrap_err();
        assert_eq!(
            e.to_string(),
            "key 'x': expected a number, found boolean true"
        );
    }

    #[test]
    fn env_raw_text_feeds_string_keys() {
        let value: Value = toml::from_str("[inner]\ns = 42").unwrap();
        let env: HashMap<String, String> = [("inner.s".to_string(), "42".to_string())].into();
        let o: Outer = from_value(&value, &env).unwrap();
        assert_eq!(o.inner.s, "42");
    }
}
