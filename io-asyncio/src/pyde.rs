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
//!
//! Strings are lent to the visitor, not copied: each `str` read is held
//! (see [`Held`]) for as long as the decoded value may borrow its text, so
//! keys and the values the decoder drops cost no allocation.

use std::cell::RefCell;
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

/// Strings whose room [`Held::release`] keeps for the next decode: an
/// action with more holds them in room of its own, freed when it is done.
pub const KEPT_ROOM: usize = 32;

/// The `str` objects whose text a decode lent out: held until it is
/// dropped, so the text stays where it is (a `str` never changes it).
pub struct Held {
    strings: RefCell<Vec<Py<PyString>>>,
}

impl Held {
    /// Holds in `strings` (emptied first; its room is reused).
    pub fn new(mut strings: Vec<Py<PyString>>) -> Self {
        strings.clear();
        Held {
            strings: RefCell::new(strings),
        }
    }

    /// Lets go of every string; the emptied vector, for the next decode
    /// (its room cut back to [`KEPT_ROOM`]).
    pub fn release(self) -> Vec<Py<PyString>> {
        let mut strings = self.strings.into_inner();
        strings.clear();
        strings.shrink_to(KEPT_ROOM);
        strings
    }

    /// The text of `s`, for as long as `self` is borrowed.
    fn lend<'h>(&'h self, s: &Bound<'_, PyString>) -> Result<&'h str, GaveUp> {
        let text: *const str = s.to_str().map_err(|_| GaveUp)?;
        self.strings.borrow_mut().push(s.clone().unbind());
        // SAFETY: `text` is the UTF-8 buffer of the `str` object `s`, which
        // belongs to the object until it is freed and is never changed or
        // moved (a `str` is immutable; the buffer is cached in the object).
        // The reference pushed above keeps the object alive until `self` is
        // dropped or released, neither of which can happen while `'h`
        // borrows `self`.
        Ok(unsafe { &*text })
    }
}

/// A Python object as a serde deserializer (see the module docs): strings
/// are lent for `'h`, the life of the [`Held`] that keeps them.
pub struct PyDe<'a, 'h, 'py> {
    obj: &'a Bound<'py, PyAny>,
    depth: usize,
    held: &'h Held,
}

impl<'a, 'h, 'py> PyDe<'a, 'h, 'py> {
    /// The deserializer of `obj`, at the top level, lending the strings it
    /// reads from `held`.
    pub fn new(obj: &'a Bound<'py, PyAny>, held: &'h Held) -> Self {
        PyDe {
            obj,
            depth: 0,
            held,
        }
    }
}

/// Checks what a visitor skipped, as `from_py` would have.
fn check(obj: &Bound<'_, PyAny>, depth: usize) -> Result<(), GaveUp> {
    from_py_at(obj, depth).map(drop).map_err(|_| GaveUp)
}

impl<'de> Deserializer<'de> for PyDe<'_, 'de, '_> {
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
            return visitor.visit_borrowed_str(self.held.lend(s)?);
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
                held: self.held,
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
                held: self.held,
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
struct Entries<'h, 'py> {
    iter: pyo3::types::iter::BoundDictIterator<'py>,
    value: Option<Bound<'py, PyAny>>,
    depth: usize,
    held: &'h Held,
}

impl Entries<'_, '_> {
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

impl<'h> MapAccess<'h> for Entries<'h, '_> {
    type Error = GaveUp;

    fn next_key_seed<K: DeserializeSeed<'h>>(
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
            held: self.held,
        })
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'h>>(&mut self, seed: V) -> Result<V::Value, GaveUp> {
        let v = self.value.take().ok_or(GaveUp)?;
        seed.deserialize(PyDe {
            obj: &v,
            depth: self.depth,
            held: self.held,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        None
    }
}

/// A list's or tuple's items.
struct Items<'h, 'py> {
    iter: std::vec::IntoIter<Bound<'py, PyAny>>,
    depth: usize,
    held: &'h Held,
}

impl Items<'_, '_> {
    fn finish(&mut self) -> Result<(), GaveUp> {
        for v in self.iter.by_ref() {
            check(&v, self.depth)?;
        }
        Ok(())
    }
}

impl<'h> SeqAccess<'h> for Items<'h, '_> {
    type Error = GaveUp;

    fn next_element_seed<T: DeserializeSeed<'h>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, GaveUp> {
        match self.iter.next() {
            Some(v) => seed
                .deserialize(PyDe {
                    obj: &v,
                    depth: self.depth,
                    held: self.held,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}
