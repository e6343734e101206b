//! Values of the keyspace: Redis's object.c. A [`RObj`] is what a key maps to: the value and
//! its LRU clock (or LFU counter). Redis's refcount is replaced by ownership; OBJECT REFCOUNT
//! reports what Redis would (shared small integers answer INT_MAX).
//!
//! Strings keep Redis's three encodings because OBJECT ENCODING shows them and RDB and
//! memory behaviour follow them: `int` (a number that fits in i64), `embstr` (short, never
//! modified in place) and `raw` (long, or changed by APPEND/SETRANGE/SETBIT).

use crate::util;

/// Redis: OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
pub const OBJ_ENCODING_EMBSTR_SIZE_LIMIT: usize = 44;
/// Redis: OBJ_SHARED_INTEGERS.
pub const OBJ_SHARED_INTEGERS: i64 = 10000;
/// Redis: OBJ_SHARED_REFCOUNT.
pub const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Keys are byte strings (Redis: sds).
pub type Sds = Box<[u8]>;

/// Redis: OBJ_STRING with its encodings.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    Int(i64),
    Embstr(Box<[u8]>),
    Raw(Vec<u8>),
}

/// Redis: robj's type + ptr. Other types arrive with the data types.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
}

/// Redis: robj.
#[derive(Debug, Clone, PartialEq)]
pub struct RObj {
    /// LRU clock (seconds resolution, 24 bits) or LFU data, as Redis's `lru` field.
    pub lru: u32,
    pub value: Value,
}

impl RObj {
    pub fn new(value: Value, lru: u32) -> RObj {
        RObj { lru, value }
    }

    /// Redis: object.c createStringObject() + tryObjectEncoding(): int, embstr or raw.
    pub fn string_from(bytes: &[u8], lru: u32) -> RObj {
        RObj::new(Value::Str(StrValue::encode(bytes)), lru)
    }

    /// Redis: the TYPE command's names.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Str(_) => "string",
        }
    }

    /// Redis: object.c strEncoding() of this object's encoding.
    pub fn encoding_name(&self) -> &'static str {
        match &self.value {
            Value::Str(StrValue::Int(_)) => "int",
            Value::Str(StrValue::Embstr(_)) => "embstr",
            Value::Str(StrValue::Raw(_)) => "raw",
        }
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match &self.value {
            Value::Str(s) => Some(s),
        }
    }

    /// What OBJECT REFCOUNT answers: shared integers are never freed in Redis.
    pub fn refcount(&self, shared_integers_allowed: bool) -> i64 {
        match self.value {
            Value::Str(StrValue::Int(v)) if shared_integers_allowed && (0..OBJ_SHARED_INTEGERS).contains(&v) => {
                OBJ_SHARED_REFCOUNT
            }
            _ => 1,
        }
    }
}

impl StrValue {
    /// Redis: object.c tryObjectEncoding() on a fresh string.
    pub fn encode(bytes: &[u8]) -> StrValue {
        if bytes.len() <= 20 {
            if let Some(v) = util::string2ll(bytes) {
                return StrValue::Int(v);
            }
        }
        if bytes.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            StrValue::Embstr(bytes.into())
        } else {
            StrValue::Raw(bytes.to_vec())
        }
    }

    /// Redis: createStringObjectFromLongLong().
    pub fn from_i64(v: i64) -> StrValue {
        StrValue::Int(v)
    }

    /// The string's bytes; integers are rendered into `scratch`.
    pub fn bytes<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self {
            StrValue::Int(v) => {
                scratch.clear();
                util::write_ll(scratch, *v);
                scratch
            }
            StrValue::Embstr(b) => b,
            StrValue::Raw(b) => b,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = Vec::new();
        self.bytes(&mut scratch).to_vec()
    }

    /// Redis: stringObjectLen().
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(v) => util::sdigits10(*v) as usize,
            StrValue::Embstr(b) => b.len(),
            StrValue::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: getLongLongFromObject(): the value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(v) => Some(*v),
            StrValue::Embstr(b) => util::string2ll(b),
            StrValue::Raw(b) => util::string2ll(b),
        }
    }

    /// Redis: dbUnshareStringValue(): a raw buffer the caller may modify in place.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(self.to_vec());
        }
        match self {
            StrValue::Raw(b) => b,
            _ => unreachable!("converted to raw just above"),
        }
    }
}
