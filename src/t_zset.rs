//! The zset type: Redis's t_zset.c. (Being built: this file currently holds only the
//! value type's shape that the shared code (object.rs, debug.rs, db.rs) relies on.)

use crate::debug::Digest;

/// A zset value with its encoding.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZSetValue {
    elements: Vec<Vec<u8>>,
}

impl ZSetValue {
    /// Redis: object.c strEncoding() for this type.
    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Redis: the OBJ_ZSET branch of debug.c xorObjectDigest().
    pub fn digest_into(&self, digest: &mut Digest) {
        for e in &self.elements {
            crate::debug::mix_digest(digest, e);
        }
    }

    /// Redis: the OBJ_ZSET branch of object.c objectComputeSize().
    pub fn compute_size(&self, _samples: u64) -> usize {
        self.elements.iter().map(|e| e.len()).sum()
    }

    /// Redis: the OBJ_ZSET branch of rdb.c rdbSavedObjectLen() (for DEBUG OBJECT).
    pub fn rdb_saved_len(&self, _rdbcompression: bool) -> usize {
        self.compute_size(0)
    }

    /// Redis: DEBUG HTSTATS-KEY: the dict stats when hash-table encoded.
    pub fn htstats(&self) -> Option<String> {
        None
    }
}
