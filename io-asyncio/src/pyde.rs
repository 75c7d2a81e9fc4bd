//! Decoding a Python object straight into a typed value (an action), without
//! building a JSON tree first.
//!
//! [`PyDe`] presents a Python object to serde as [`serde_json::Value`]'s
//! deserializer presents the value [`crate::json::from_py`] makes of it
//! (dicts with `str` keys as maps, lists and tuples as sequences,
//! non-negative integers as `u64`, negative ones as `i64`, finite floats,
//! strings, booleans, `None` as unit), and refuses what `from_py` refuses,
//! skipped values included. It is a fast path only: the caller retries the
//! slow path (`from_py`, then the typed decoder on the tree) on any error,
//! so that errors, and the inputs it does not take (dicts with keys other
//! than `str`, whose converted keys may collide), keep their one
//! definition.

use std::fmt;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::json::{MAX_DEPTH, from_py_at};

/// Why the fast path gave up (the caller then takes the slow path).
#[derive(Debug)]
pub struct GaveUp;

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not decoded on the fast path")
    }
}

impl std::error::Error for GaveUp {}

impl de::Error for GaveUp {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        GaveUp
    }
}

/// A Python object as a serde deserializer (see the module docs).
pub struct PyDe<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    depth: usize,
}

impl<'a, 'py> PyDe<'a, 'py> {
    /// The deserializer of `obj`, at the top level.
    pub fn new(obj: &'a Bound<'py, PyAny>) -> Self {
        PyDe { obj, depth: 0 }
    }
}

/// Checks what a visitor skipped, as `from_py` would have.
fn check(obj: &Bound<'_, PyAny>, depth: usize) -> Result<(), GaveUp> {
    from_py_at(obj, depth).map(drop).map_err(|_| GaveUp)
}

impl<'de> Deserializer<'de> for PyDe<'_, '_> {
    type Error = GaveUp;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GaveUp> {
        let obj = self.obj;
        if self.depth > MAX_DEPTH {
            return Err(GaveUp);
        }
        if obj.is_none() {
            return visitor.visit_unit();
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return visitor.visit_str(s.to_str().map_err(|_| GaveUp)?);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return visitor.visit_bool(b.is_true());
        }
        if let Ok(i) = obj.cast::<PyInt>() {
            if let Ok(v) = i.extract::<i64>() {
                return match u64::try_from(v) {
                    Ok(u) => visitor.visit_u64(u),
                    Err(_) => visitor.visit_i64(v),
                };
            }
            return visitor.visit_u64(i.extract::<u64>().map_err(|_| GaveUp)?);
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            let v = f.value();
            if !v.is_finite() {
                return Err(GaveUp);
            }
            return visitor.visit_f64(v);
        }
        if let Ok(d) = obj.cast::<PyDict>() {
            let mut access = Entries {
                iter: d.iter(),
                value: None,
                depth: self.depth + 1,
            };
            let out = visitor.visit_map(&mut access)?;
            access.finish()?;
            return Ok(out);
        }
        let items: Option<Vec<_>> = if let Ok(l) = obj.cast::<PyList>() {
            Some(l.iter().collect())
        } else if let Ok(t) = obj.cast::<PyTuple>() {
            Some(t.iter().collect())
        } else {
            None
        };
        if let Some(items) = items {
            let mut access = Items {
                iter: items.into_iter(),
                depth: self.depth + 1,
            };
            let out = visitor.visit_seq(&mut access)?;
            access.finish()?;
            return Ok(out);
        }
        Err(GaveUp)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GaveUp> {
        if self.obj.is_none() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, GaveUp> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, GaveUp> {
        Err(GaveUp)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, GaveUp> {
        check(self.obj, self.depth)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// A dict's entries; only `str` keys are taken.
struct Entries<'py> {
    iter: pyo3::types::iter::BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
    depth: usize,
}

impl Entries<'_> {
    /// Checks a value the visitor did not read.
    fn skip_pending(&mut self) -> Result<(), GaveUp> {
        match self.value.take() {
            Some(v) => check(&v, self.depth),
            None => Ok(()),
        }
    }

    /// Checks whatever the visitor left unread.
    fn finish(&mut self) -> Result<(), GaveUp> {
        self.skip_pending()?;
        for (k, v) in self.iter.by_ref() {
            if !k.is_exact_instance_of::<PyString>() {
                return Err(GaveUp);
            }
            check(&v, self.depth)?;
        }
        Ok(())
    }
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = GaveUp;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, GaveUp> {
        self.skip_pending()?;
        let Some((k, v)) = self.iter.next() else {
            return Ok(None);
        };
        if !k.is_exact_instance_of::<PyString>() {
            return Err(GaveUp);
        }
        self.value = Some(v);
        seed.deserialize(PyDe {
            obj: &k,
            depth: self.depth,
        })
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, GaveUp> {
        let v = self.value.take().ok_or(GaveUp)?;
        seed.deserialize(PyDe {
            obj: &v,
            depth: self.depth,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        None
    }
}

/// A list's or tuple's items.
struct Items<'py> {
    iter: std::vec::IntoIter<Bound<'py, PyAny>>,
    depth: usize,
}

impl Items<'_> {
    fn finish(&mut self) -> Result<(), GaveUp> {
        for v in self.iter.by_ref() {
            check(&v, self.depth)?;
        }
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = GaveUp;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GaveUp> {
        match self.iter.next() {
            Some(v) => seed
                .deserialize(PyDe {
                    obj: &v,
                    depth: self.depth,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
